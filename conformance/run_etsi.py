#!/usr/bin/env python3
"""Run the ETSI NGSI-LD conformance test suite (Robot Framework) against hyperville.

Standalone: needs only the Python standard library, plus Robot Framework and the
suite's own requirements in the interpreter that runs robot (see README.md).

What it does:
  1. writes an offline @context cache (<out>/contexts/index.json + copies of the
     suite's jsonld files) and prints the --context-cache path for the server;
  2. writes <out>/variables.py (overrides for the suite's resources/variables.py,
     passed with --variablefile; the checkout itself is never modified);
  3. runs robot once per scope (cwd = the checkout, as the suite uses ${EXECDIR});
  4. parses each output.xml and prints/writes a summary table
     (<out>/summary.md) and the list of failed tests (<out>/failures.txt).

Example:
  python conformance/run_etsi.py --suite /work/etsi-suite --scope entity,query
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

TP_ROOT = "TP/NGSI-LD"
CI = TP_ROOT + "/ContextInformation"

# scope name -> (description, [paths relative to the checkout])
SCOPES: dict[str, tuple[str, list[str]]] = {
    "common": ("Common behaviours (Accept/Content-Type, invalid params, LdContextNotAvailable, merge-patch)",
               [TP_ROOT + "/CommonBehaviours"]),
    "entity": ("Entity provision: create / delete / merge / replace entity",
               [CI + "/Provision/Entities"]),
    "attribute": ("Attribute provision: append / update / partial update / replace / delete attribute",
                  [CI + "/Provision/EntityAttributes"]),
    "batch": ("Batch provision: entityOperations create / upsert / update / merge / delete",
              [CI + "/Provision/BatchEntities"]),
    "purge": ("Purge entities: DELETE /entities?type=...",
              [CI + "/Provision/PurgeEntities"]),
    "query": ("Entity retrieval and query: GET /entities/{id}, GET /entities, POST /entityOperations/query",
              [CI + "/Consumption/Entity"]),
    "discovery": ("Discovery: GET /types, /types/{type}, /attributes, /attributes/{attr} (expects an empty store)",
                  [CI + "/Consumption/Discovery"]),
    # later
    "temporal": ("Temporal: /temporal/entities provision and consumption",
                 [CI + "/Provision/TemporalEntity", CI + "/Provision/TemporalEntityAttributes",
                  CI + "/Consumption/TemporalEntity"]),
    "subscription": ("Subscriptions and notifications (the suite starts its own HTTP receiver)",
                     [CI + "/Subscription"]),
    "csource": ("Context source registry: csourceRegistrations (register/update/delete, retrieve/query) "
                "and csourceSubscriptions with their notifications (no forwarding)",
                [TP_ROOT + "/ContextSource/Registration", TP_ROOT + "/ContextSource/Discovery",
                 TP_ROOT + "/ContextSource/RegistrationSubscription"]),
}
ALIASES = {
    "common-behaviours": "common", "commonbehaviours": "common",
    "entity-provision": "entity", "entities": "entity",
    "attribute-provision": "attribute", "attributes": "attribute",
    "batch-provision": "batch",
    "retrieval": "query", "entity-retrieval": "query", "consumption": "query",
    "temporal-entities": "temporal", "subscriptions": "subscription",
    "context-source": "csource", "registrations": "csource", "csourceregistrations": "csource",
}
# "all" = the categories. discovery runs first: it needs an empty store.
DEFAULT_SCOPES = ["discovery", "common", "entity", "attribute", "batch", "purge", "query"]

# core context URLs (the broker serves every ngsi-ld-core-context-v1.x from package data)
CORE_CONTEXT_RE = re.compile(r"https://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(-v1\.\d+)?\.jsonld$")
# URLs the suite uses whose document is not in the checkout but is equivalent to one that is:
# the easy-global-market "V1.8 compound" = the same 11 test-suite terms + core context v1.8,
# i.e. the checkout's compound context (used by 018_20, 018_21, 019_19, 019_22, 019_23, 021_23).
ALIASES_TO_CHECKOUT = {  # URL path suffix -> file in the checkout
    "/ngsildTestSuite/ngsildTestSuiteV1.8-compound.jsonld": "resources/jsonld-contexts/ngsi-ld-test-suite-compound.jsonld",
}
URL_RE = re.compile(r"""https?://[^\s"'<>()`,\]\[{}\\]+""")


# --------------------------------------------------------------------------- contexts

def find_context_urls(suite: Path) -> set[str]:
    """Every http(s) URL in the suite that looks like a JSON-LD document."""
    urls: set[str] = set()
    roots = [suite / "resources", suite / "data", suite / "TP"]
    for root in roots:
        if not root.exists():
            continue
        for p in root.rglob("*"):
            if not p.is_file() or p.suffix not in (".py", ".json", ".jsonld", ".robot", ".resource"):
                continue
            try:
                text = p.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for u in URL_RE.findall(text):
                if u.endswith((".jsonld", ".json")) and "$" not in u and "\\" not in u:
                    urls.add(u)
    return urls


def local_file_for(url: str, suite: Path) -> Path | None:
    """Map a URL to a file in the checkout when a suffix of its path exists there
    (e.g. .../-/raw/develop/resources/jsonld-contexts/x.jsonld -> resources/jsonld-contexts/x.jsonld)."""
    parts = [p for p in urllib.parse.urlparse(url).path.split("/") if p]
    for i in range(len(parts) - 1):  # need at least dir/file, avoid bare-name matches
        cand = suite.joinpath(*parts[i:])
        if cand.is_file():
            return cand
    return None


def write_context_cache(suite: Path, out: Path, extra: list[str],
                        use_aliases: bool = True) -> tuple[Path, dict[str, str], list[str]]:
    # not wiped: a running broker may already use this directory; files are overwritten in place
    cache = out / "contexts"
    cache.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    index: dict[str, str] = {}

    def add(url: str, src: Path) -> None:
        name, n = src.name, 1
        while name in written and (cache / name).read_bytes() != src.read_bytes():
            n += 1
            name = f"{src.stem}-{n}{src.suffix}"
        if name not in written:
            shutil.copyfile(src, cache / name)
            written.add(name)
        index[url] = name

    urls = find_context_urls(suite)
    for url in sorted(urls):
        f = local_file_for(url, suite)
        if f is not None:
            add(url, f)
    if use_aliases:
        for url in sorted(urls):
            for suffix, rel in ALIASES_TO_CHECKOUT.items():
                if url not in index and url.endswith(suffix) and (suite / rel).is_file():
                    add(url, suite / rel)
    for item in extra:
        url, sep, path = item.partition("=")
        if not sep:
            sys.exit(f"--map expects URL=FILE, got {item!r}")
        f = Path(path)
        if not f.is_absolute():
            f = (suite / f) if (suite / f).is_file() else f.resolve()
        if not f.is_file():
            sys.exit(f"--map: file not found: {path}")
        add(url, f)
    unmapped = sorted(u for u in urls if u not in index)
    tmp = cache / ".index.json.tmp"
    tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, cache / "index.json")
    return cache, index, unmapped


# --------------------------------------------------------------------------- robot

def write_variables(out: Path, a: argparse.Namespace) -> Path:
    base = a.url.rstrip("/")
    api = base if base.endswith("/ngsi-ld/v1") else base + "/ngsi-ld/v1"
    values = {
        "url": api,
        "temporal_api_url": a.temporal_url.rstrip("/") if a.temporal_url else api,
        "notification_server_host": a.notify_host,
        "notification_server_port": a.notify_port,
        "context_source_host": a.notify_host,
        "context_source_port": a.context_source_port,
        "context_server_host": a.notify_host,
        "context_server_port": a.context_server_port,
        # 058_* (MQTT notifications) connect to ${mqtt_broker_host}:1883 and, for the
        # non-default port variants, to ${mqtt_broker_non_default_port}
        "mqtt_broker_host": a.mqtt_host,
        "mqtt_broker_non_default_port": a.mqtt_alt_port,
    }
    if a.core_context:
        values["core_context"] = a.core_context
    if a.suite_context:
        values["ngsild_test_suite_context"] = a.suite_context
    lines = ["# generated by conformance/run_etsi.py - overrides the suite's resources/variables.py"]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    path = out / "variables.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def robot_command(a: argparse.Namespace) -> list[str]:
    if a.robot:
        return a.robot.split()
    try:
        import robot  # noqa: F401
        return [sys.executable, "-m", "robot"]
    except ImportError:
        exe = shutil.which("robot")
        if exe:
            return [exe]
    sys.exit("robot not found: install the suite's requirements (pip install -r <suite>/requirements.txt) "
             "in this interpreter, or pass --robot '/path/to/venv/bin/python -m robot'")


def run_scope(name: str, paths: list[str], a: argparse.Namespace, suite: Path, out: Path,
              varfile: Path) -> tuple[Path, float, int | None]:
    sdir = out / name
    if sdir.exists():
        shutil.rmtree(sdir)
    sdir.mkdir(parents=True)
    cmd = robot_command(a) + [
        "--outputdir", str(sdir),
        "--name", name,
        "--variablefile", str(varfile),
        "--consolewidth", "120",
        "--console", "verbose",
    ]
    if a.dryrun:
        cmd.append("--dryrun")
    for extra in a.robot_arg:
        cmd.append(extra)
    cmd += paths
    (sdir / "command.txt").write_text(" ".join(cmd) + "\n")
    t0 = time.monotonic()
    rc: int | None
    with open(sdir / "console.log", "w") as log:
        try:
            rc = subprocess.run(cmd, cwd=suite, stdout=log, stderr=subprocess.STDOUT,
                                timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = None
            log.write(f"\n*** run_etsi.py: robot killed after {a.timeout}s ***\n")
    return sdir / "output.xml", time.monotonic() - t0, rc


# --------------------------------------------------------------------------- results

def _one_line(s: str, limit: int) -> str:
    s = " | ".join(x.strip() for x in s.strip().splitlines() if x.strip())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _last_http(test: ET.Element) -> str:
    """Last request/response the suite logged (libraries/logUtils.py) outside teardown."""
    req = resp = None

    def walk(el: ET.Element) -> None:
        nonlocal req, resp
        for child in el:
            if child.tag == "kw" and child.get("type") == "TEARDOWN":
                continue
            if child.tag == "msg" and child.text and child.text.lstrip().startswith("{"):
                try:
                    d = json.loads(child.text)
                except ValueError:
                    d = None
                if isinstance(d, dict) and "method" in d and "url" in d:
                    req, resp = d, None
                elif isinstance(d, dict) and "status_code" in d:
                    resp = d
            walk(child)

    walk(test)
    if not req:
        return ""
    s = f"{req.get('method')} {req.get('url')}"
    if resp:
        s += f" -> {resp.get('status_code')}"
        body = resp.get("body")
        if isinstance(body, dict) and body.get("type"):
            s += f" {body.get('type')}"
    return s


def parse_output(xml_path: Path, suite: Path) -> dict:
    res = {"tests": 0, "passed": 0, "failed": 0, "skipped": 0, "tps": {}, "failures": [], "error": None}
    if not xml_path.exists():
        res["error"] = "no output.xml (robot did not run - see console.log)"
        return res
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        res["error"] = f"unreadable output.xml: {e}"
        return res

    def visit(suite_el: ET.Element) -> None:
        src = suite_el.get("source") or ""
        for child in suite_el:
            if child.tag == "suite":
                visit(child)
            elif child.tag == "test":
                st = child.find("status")
                status = st.get("status") if st is not None else "FAIL"
                tp = Path(src).stem if src.endswith(".robot") else "?"
                try:
                    rel = str(Path(src).resolve().relative_to(suite.resolve()))
                except ValueError:
                    rel = src
                t = res["tps"].setdefault(tp, {"file": rel, "tests": 0, "passed": 0, "failed": 0, "skipped": 0})
                t["tests"] += 1
                res["tests"] += 1
                key = {"PASS": "passed", "SKIP": "skipped"}.get(status, "failed")
                t[key] += 1
                res[key] += 1
                if key == "failed":
                    msg = (st.text or "") if st is not None else ""
                    msg = msg.split("\n\nAlso teardown failed:")[0]
                    res["failures"].append({"tp": tp, "file": rel, "name": child.get("name"),
                                            "message": msg, "http": _last_http(child)})

    for s in root.findall("suite"):
        visit(s)
    return res


def pct(p: int, n: int) -> str:
    return f"{100.0 * p / n:.1f}" if n else "-"


# --------------------------------------------------------------------------- preflight

def http_get(url: str, timeout: float = 3.0) -> tuple[int | None, str]:
    u = urllib.parse.urlparse(url)
    try:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers={"Accept": "application/json"})
        r = conn.getresponse()
        return r.status, r.read(20000).decode("utf-8", "replace")
    except OSError as e:
        return None, str(e)


def preflight(api: str, scopes: list[str]) -> list[str]:
    notes = []
    status, body = http_get(api + "/types")
    if status is None:
        notes.append(f"broker not reachable at {api} ({body}) - every test will fail")
        return notes
    if "discovery" in scopes and status == 200:
        try:
            d = json.loads(body)
            types = d.get("typeList", []) if isinstance(d, dict) else d
        except ValueError:
            types = []
        if types:
            notes.append(f"store is not empty (GET /types -> {types}); discovery tests expect an empty "
                         "store and will fail - restart the broker on a fresh --db")
    return notes


def _port_open(host: str, port: int) -> bool:
    import socket
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_alt_mqtt(a: argparse.Namespace, scopes: list[str]) -> tuple[subprocess.Popen | None, list[str]]:
    """The MQTT TPs (058_*) start Mosquitto containers with docker; here they use the MQTT broker
    on --mqtt-host:1883, plus, for 058_01_02/05, a loopback Mosquitto this script starts on
    --mqtt-alt-port for the run (when the binary is on PATH and the port is free)."""
    if "subscription" not in scopes or a.dryrun:
        return None, []
    notes = []
    if not _port_open(a.mqtt_host, 1883):
        notes.append(f"no MQTT broker on {a.mqtt_host}:1883 - the MQTT notification TPs (058_*) will fail")
    if _port_open(a.mqtt_host, a.mqtt_alt_port):
        return None, notes
    exe = shutil.which("mosquitto")
    if exe is None:
        notes.append(f"no mosquitto binary: nothing listens on {a.mqtt_host}:{a.mqtt_alt_port}, "
                     "058_01_02/05 (non-default MQTT port) will fail")
        return None, notes
    proc = subprocess.Popen([exe, "-p", str(a.mqtt_alt_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(50):
        if _port_open("127.0.0.1", a.mqtt_alt_port) or proc.poll() is not None:
            break
        time.sleep(0.1)
    print(f"started mosquitto on 127.0.0.1:{a.mqtt_alt_port} (pid {proc.pid}) for the non-default port MQTT TPs")
    return proc, notes


# --------------------------------------------------------------------------- main

def parse_scopes(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values or ["all"]:
        for s in v.split(","):
            s = s.strip().lower()
            if not s:
                continue
            if s == "all":
                names = DEFAULT_SCOPES
            elif s == "everything":
                names = DEFAULT_SCOPES + ["temporal", "subscription", "csource"]
            else:
                s = ALIASES.get(s, s)
                if s not in SCOPES:
                    sys.exit(f"unknown scope {s!r}; choose from: all, everything, {', '.join(SCOPES)}")
                names = [s]
            out += [n for n in names if n not in out]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", required=True, help="checkout of the ETSI NGSI-LD test suite (commit 1d442dc)")
    ap.add_argument("--url", default="http://127.0.0.1:1026",
                    help="broker base URL; /ngsi-ld/v1 is appended unless present (default %(default)s)")
    ap.add_argument("--temporal-url", default=None, help="temporal API base incl. /ngsi-ld/v1 (default: same as --url)")
    ap.add_argument("--scope", action="append", default=[],
                    help="comma-separated and/or repeated: all (default), everything, " + ", ".join(SCOPES))
    ap.add_argument("--out", default="/tmp/etsi-results", help="results directory (default %(default)s)")
    ap.add_argument("--notify-host", default="127.0.0.1",
                    help="host the suite's own HTTP receivers bind to and advertise (notifications, mock "
                         "context source/server); must be reachable by the broker (default %(default)s)")
    ap.add_argument("--notify-port", type=int, default=8085, help="notification receiver port (default %(default)s)")
    ap.add_argument("--context-source-port", type=int, default=8086,
                    help="mock context source port, advertised as registration endpoints (default %(default)s)")
    ap.add_argument("--context-server-port", type=int, default=8087,
                    help="mock @context server port (default %(default)s)")
    ap.add_argument("--mqtt-host", default="127.0.0.1",
                    help="MQTT broker the MQTT notification TPs (058_*) subscribe to on port 1883 and "
                         "put in their mqtt:// endpoints; the broker must reach it (default %(default)s)")
    ap.add_argument("--mqtt-alt-port", type=int, default=1884,
                    help="the 'non-default' MQTT port of 058_01_02/05; a loopback mosquitto is started "
                         "there for the subscription scope if none listens (default %(default)s)")
    ap.add_argument("--core-context", default=None,
                    help="override the suite's core_context variable (only the jsonldContext TPs use it)")
    ap.add_argument("--suite-context", default=None, help="override ngsild_test_suite_context (rarely needed)")
    ap.add_argument("--map", action="append", default=[], metavar="URL=FILE",
                    help="extra context cache entry (FILE relative to the checkout or absolute)")
    ap.add_argument("--no-alias", action="store_true",
                    help="do not map the easy-global-market V1.8 compound context to the checkout's equivalent")
    ap.add_argument("--robot", default=None, help="robot command (default: python -m robot, else robot on PATH)")
    ap.add_argument("--robot-arg", action="append", default=[],
                    help="extra argument passed to robot, e.g. --robot-arg=--test=019_01*")
    ap.add_argument("--dryrun", action="store_true", help="robot --dryrun: check syntax and count tests, no HTTP")
    ap.add_argument("--timeout", type=int, default=3600, help="per-scope robot timeout in seconds")
    ap.add_argument("--list", action="store_true", help="list scopes and their paths, then exit")
    ap.add_argument("--prepare", action="store_true",
                    help="only write the context cache and variables file, print the server command, exit")
    a = ap.parse_args()

    suite = Path(a.suite).resolve()
    scopes = parse_scopes(a.scope)
    if a.list:
        for name, (desc, paths) in SCOPES.items():
            n = sum(len(list((suite / p).rglob("*.robot"))) for p in paths if (suite / p).exists())
            tag = " (default)" if name in DEFAULT_SCOPES else ""
            print(f"{name:<13}{n:>4} TPs{tag}  {desc}")
            for p in paths:
                print(f"{'':17}{p}")
        return 0
    if not (suite / "resources" / "variables.py").is_file() or not (suite / TP_ROOT).is_dir():
        sys.exit(f"{suite} does not look like the ETSI NGSI-LD test suite (no resources/variables.py / {TP_ROOT})")
    for name in scopes:
        for p in SCOPES[name][1]:
            if not (suite / p).exists():
                sys.exit(f"scope {name}: {p} missing in the checkout")

    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    # (a) context cache
    cache, index, unmapped = write_context_cache(suite, out, a.map, not a.no_alias)
    print(f"context cache: {cache}  ({len(index)} entries)")
    for url, f in sorted(index.items()):
        print(f"  {url} -> {f}")
    core = [u for u in unmapped if CORE_CONTEXT_RE.match(u)]
    other = [u for u in unmapped if u not in core]
    if core:
        print("  core contexts (built into the broker, not cached here):")
        for url in core:
            print(f"    {url}")
    if other:
        print("  not in the checkout, left unresolvable (the non-existing core URL is deliberate; "
              "the others are only used by the jsonldContext TPs):")
        for url in other:
            print(f"    {url}")
    port = urllib.parse.urlparse(a.url).port or 80
    print(f"\nstart the broker with:\n  hyperville serve --port {port} --db <fresh file> --context-cache {cache}\n")

    # (b) variables
    varfile = write_variables(out, a)
    api = a.url.rstrip("/")
    api = api if api.endswith("/ngsi-ld/v1") else api + "/ngsi-ld/v1"
    print(f"robot variables: {varfile}  (url={api})")
    if a.prepare:
        return 0
    notes = [] if a.dryrun else preflight(api, scopes)
    alt_mqtt, mqtt_notes = start_alt_mqtt(a, scopes)
    notes += mqtt_notes
    for n in notes:
        print(f"WARNING: {n}")

    # (c) run + (d) collect
    rows = []
    all_failures = []
    results = {}

    def run_one(name: str) -> None:
        paths = SCOPES[name][1]
        print(f"\n== {name}: robot {' '.join(paths)}", flush=True)
        xml_path, secs, rc = run_scope(name, paths, a, suite, out, varfile)
        r = parse_output(xml_path, suite)
        if rc is None:
            r["error"] = (r["error"] or "") + f" timed out after {a.timeout}s"
        results[name] = r
        tps_ok = sum(1 for t in r["tps"].values() if t["failed"] == 0 and t["passed"] > 0)
        rows.append((name, len(r["tps"]), tps_ok, r["tests"], r["passed"], r["failed"], r["skipped"],
                     pct(r["passed"], r["tests"]), f"{secs:.0f}s", r["error"] or ""))
        print(f"   {r['tests']} tests: {r['passed']} passed, {r['failed']} failed, {r['skipped']} skipped "
              f"({secs:.0f}s){'  ERROR: ' + r['error'] if r['error'] else ''}", flush=True)
        for f in r["failures"]:
            all_failures.append((name, f))

    try:
        for name in scopes:
            run_one(name)
    finally:
        if alt_mqtt is not None:
            alt_mqtt.terminate()
            alt_mqtt.wait(10)

    tot = [sum(r[i] for r in rows) for i in (1, 2, 3, 4, 5, 6)]
    header = ("scope", "TPs", "TPs all-pass", "tests", "passed", "failed", "skipped", "pass %", "time")
    table = [header] + [r[:9] for r in rows] + [("TOTAL", *tot, pct(tot[3], tot[2]), "")]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    print()
    for row in table:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if a.dryrun:
        print("(dry run: robot did not send any request; 'passed' only means the test parses)")

    # summary.md
    md = ["# ETSI NGSI-LD conformance run", "",
          f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
          f"- broker: {api}" + ("  (**dry run**)" if a.dryrun else ""),
          f"- suite: {suite}" + _suite_rev(suite),
          f"- context cache: {cache}", ""]
    for n in notes:
        md.append(f"> WARNING: {n}")
    if notes:
        md.append("")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in table[1:]:
        md.append("| " + " | ".join(str(c) for c in row) + " |")
    md.append("")
    md.append("TPs = test purposes (one .robot file each); tests = Robot test cases (TP variants).")
    for name, r in results.items():
        md += ["", f"## {name}", "", f"{SCOPES[name][0]}  ", f"paths: {', '.join(SCOPES[name][1])}  ",
               f"log: {out / name / 'log.html'}", ""]
        if r["error"]:
            md += [f"**error:** {r['error']}", ""]
        md += ["| TP | passed/tests | file |", "|---|---:|---|"]
        for tp, t in sorted(r["tps"].items()):
            mark = "" if t["failed"] == 0 else " ❌"
            md.append(f"| {tp}{mark} | {t['passed']}/{t['tests']} | {t['file']} |")
    (out / "summary.md").write_text("\n".join(md) + "\n")

    # failures.txt
    lines = [f"# {len(all_failures)} failed tests  (scope  TP  test name  [file]; message; last HTTP exchange)"]
    for scope, f in all_failures:
        lines.append(f"[{scope}] {f['name']}  [{f['file']}]")
        lines.append(f"    {_one_line(f['message'], 600) or '(no message)'}")
        if f["http"]:
            lines.append(f"    http: {f['http']}")
    (out / "failures.txt").write_text("\n".join(lines) + "\n")
    print(f"\nsummary:  {out / 'summary.md'}\nfailures: {out / 'failures.txt'}  ({len(all_failures)} failed tests)"
          f"\nlogs:     {out}/<scope>/log.html")
    return 0 if all(not r["error"] for r in results.values()) else 2


def _suite_rev(suite: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(suite), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        # only trust it if the checkout itself is the git top level (not some enclosing repo)
        top = subprocess.run(["git", "-C", str(suite), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        return f" (commit {rev})" if rev and top and Path(top).resolve() == suite else ""
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
