"""The operations screen in a real browser (Debian's Chromium driven by Playwright) against a
real ``hyperville serve`` on a small generated territory.

Screenshots go to ``test-artifacts/`` (gitignored). The bundle in ``src/hyperville/web/static``
is committed; ``test_bundle_is_built_from_the_sources`` fails when ``web/`` changed without
``./run ui``. No request leaves the machine: one to another host fails the test (the external
basemap's tiles are answered here).
"""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import struct
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from hyperville.demo import prepare_demo
from hyperville.settings import Settings
from hyperville.testing import CHROMIUM, live_server, require_component
from hyperville.testing import CHROMIUM_ARGS as ARGS
from hyperville.web.basemap import IGN_PLAN

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src/hyperville/web/static"
ARTIFACTS = ROOT / "test-artifacts"
PARK = "urn:ngsi-ld:OffStreetParking:PK-GARE-01"

try:
    import playwright.sync_api as playwright_api
except ImportError:  # pragma: no cover - ./run test installs it
    playwright_api = None


def _source_hash(web: Path) -> str:
    inputs = sorted(
        [p.relative_to(web).as_posix() for p in (web / "src").rglob("*") if p.is_file()]
        + ["build.mjs", "package.json", "package-lock.json"]
    )
    digest = hashlib.sha256()
    for name in inputs:
        digest.update(name.encode() + b"\0" + (web / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_bundle_is_built_from_the_sources():
    built = orjson.loads((STATIC / "build.json").read_bytes())
    assert built["hash"] == _source_hash(ROOT / "web"), "web/ changed: run ./run ui"
    assert set(built["assets"]) == {"app.js", "app.css", "worker"}
    for name in [*built["assets"].values(), *built["preload"]]:
        raw = (STATIC / name).read_bytes()
        assert len(raw) > 1000
        assert gzip.decompress((STATIC / f"{name}.gz").read_bytes()) == raw
    # nothing left over from an earlier build
    for pattern in ("app-*.js", "app-*.css", "maplibre-gl-worker-*.mjs"):
        assert len(list(STATIC.glob(pattern))) == 1, pattern


@pytest.fixture(scope="module")
def territory(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("ui") / "demo.sqlite"
    prepare_demo(Settings(db_path=db, demo_mode=True), scale=0.05, say=lambda _: None)
    return db


@pytest.fixture(scope="module")
def server(territory):
    with live_server(territory) as running:
        _history(running.ngsi_ld)
        yield running


@pytest.fixture(scope="module")
def ign_server(territory, server):
    """A second server, on a copy of the twin, configured with IGN's Plan IGN basemap."""
    copy = territory.with_name("ign.sqlite")
    with sqlite3.connect(territory) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with live_server(copy, env={"HYPERVILLE_BASEMAP": "ign-plan"}) as running:
        yield running


def _history(ngsi_ld: str) -> None:
    """A few hours of free spaces for one station car park (for the chart)."""
    now = datetime.now(UTC)
    for hours, free in ((5, 60), (4, 41), (3, 22), (2, 35), (1, 50)):
        stamp = (now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        body = {"availableSpotNumber": {"type": "Property", "value": free, "observedAt": stamp}}
        answer = httpx.post(f"{ngsi_ld}/entities/{PARK}/attrs", json=body)
        assert answer.status_code == 204, answer.text


@pytest.fixture(scope="module")
def browser():
    require_component(playwright_api is not None, "Playwright is not installed (pip)")
    require_component(Path(CHROMIUM).exists(), f"Debian's chromium is not at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def open_screen(browser, server, *, routes=(), path="/"):
    """A new page on the screen, ready; ``problems`` collects console errors, page errors and
    any request that would leave this machine (answered by ``routes`` or refused).

    The page's Content-Security-Policy is bypassed here: Playwright's ``wait_for_function``
    evaluates strings, which the policy forbids; the screen itself runs under its policy in
    :func:`test_the_screen_runs_under_its_content_security_policy`."""
    context = browser.new_context(viewport={"width": 1400, "height": 850}, bypass_csp=True)
    problems: list[str] = []

    def outside(route):
        problems.append(f"request to the internet: {route.request.url}")
        route.abort()

    context.route(lambda url: not url.startswith(server.url), outside)
    for pattern, handler in routes:  # registered last: tried first
        context.route(pattern, handler)
    opened = context.new_page()
    opened.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    opened.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    opened.problems = problems  # type: ignore[attr-defined]
    opened.goto(server.url + path)
    opened.wait_for_function("window.hyperville && window.hyperville.ready", timeout=20_000)
    return context, opened


@pytest.fixture
def page(server, browser):
    context, opened = open_screen(browser, server)
    yield opened
    context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))


def test_page_loads_without_console_errors(page):
    assert page.locator("#kpi-parking .kpi-station").count() == 3
    # streetlights and containers, clustered, their states in rings
    page.wait_for_function("document.querySelectorAll('.cluster.lights').length > 0")
    page.wait_for_function("[...document.querySelectorAll('.cluster')].some(e => e.title)")
    assert page.evaluate("window.hyperville.store.size('lights')") > 100
    _shot(page, "home")
    assert page.problems == []


def test_the_screen_runs_under_its_content_security_policy(server, browser):
    """No script, style, image, worker or fetch of the screen is refused by its policy."""
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    context.route(lambda url: not url.startswith(server.url), lambda route: route.abort())
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.add_init_script(  # injected by the browser, not subject to the page's policy
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    answer = page.goto(server.url + "/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    deadline = time.monotonic() + 20
    ready = "Boolean(window.hyperville && window.hyperville.ready && "
    ready += "document.querySelectorAll('.cluster.lights').length > 0)"
    while not page.evaluate(ready):  # evaluate goes through the debugger: no eval in the page
        assert time.monotonic() < deadline, problems
        page.wait_for_timeout(100)
    page.locator(f'.parking-label[data-id="{PARK}"]').click()  # the detail and its chart
    page.locator('#detail figure[data-attr="availableSpotNumber"] svg.chart').wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__violations") == []
    assert problems == []
    context.close()


def test_layers_toggle(page):
    visible = "window.hyperville.map.getLayoutProperty('lights', 'visibility') ?? 'visible'"
    page.wait_for_function("document.querySelectorAll('.cluster.lights').length > 0")
    page.locator('input[data-layer="lights"]').uncheck()
    assert page.evaluate(visible) == "none"
    assert page.locator(".cluster.lights").count() == 0
    page.locator('input[data-layer="lights"]').check()
    assert page.evaluate(visible) == "visible"
    page.wait_for_function("document.querySelectorAll('.cluster.lights').length > 0")
    assert page.problems == []


def test_clicking_an_asset_opens_its_detail_with_a_history_chart(page):
    page.locator(f'.parking-label[data-id="{PARK}"]').click()
    detail = page.locator("#detail")
    detail.locator("h2").wait_for()
    assert "Bréauté" in detail.locator("h2").inner_text()
    chart = detail.locator('figure[data-attr="availableSpotNumber"] svg.chart path.line')
    chart.wait_for(timeout=5000)
    assert chart.get_attribute("d").count("L") >= 3
    detail.locator('button[data-range="7d"]').click()
    chart.wait_for(timeout=5000)
    _shot(page, "detail")
    # a point asset on the canvas: the map's click opens it too
    cabinet = page.evaluate(
        """() => {
            const f = [...window.hyperville.store.values('cabinets')][0];
            const map = window.hyperville.map;
            map.jumpTo({center: f.geometry.coordinates, zoom: 17});
            return f.properties.i;
        }"""
    )
    page.wait_for_function("window.hyperville.map.loaded() && !window.hyperville.map.isMoving()")
    page.wait_for_timeout(300)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "id => document.querySelector('#detail .id')?.textContent === id", arg=cabinet
    )
    assert page.problems == []


def test_an_ingested_reading_appears_within_two_seconds(page, server):
    spec = {
        "deviceId": "ui-park-1",
        "entityId": PARK,
        "entityType": "OffStreetParking",
        "mapping": {"free": {"attr": "availableSpotNumber"}},
    }
    answer = httpx.post(f"{server.url}/api/v1/devices", json=spec)
    assert answer.status_code == 201, answer.text
    token = answer.json()[0]["token"]
    label = page.locator(f'.parking-label[data-id="{PARK}"]')
    started = time.monotonic()
    sent = httpx.post(
        f"{server.url}/ingest/v1/devices/ui-park-1/readings",
        json={"free": 7},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code in (200, 202, 204), sent.text
    page.wait_for_function(
        "id => document.querySelector(`.parking-label[data-id='${id}']`)?.textContent === '7'",
        arg=PARK,
        timeout=2000,
    )
    assert time.monotonic() - started < 2.0
    assert label.get_attribute("data-state") == "full"
    tile = page.locator(f'#kpi-parking li[data-id="{PARK}"] .free')
    tile.wait_for()
    page.wait_for_function(
        "id => document.querySelector(`#kpi-parking li[data-id='${id}'] .free`)"
        "?.textContent === '7'",
        arg=PARK,
        timeout=3000,
    )
    _shot(page, "live")
    assert page.problems == []


def test_french_and_english_switch(page):
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.locator("#kpi-lighting h3").inner_text() == "Éclairage"
    page.locator('button[data-lang="en"]').click()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#kpi-lighting h3").inner_text() == "Lighting"
    assert page.locator("#report-btn").inner_text() == "Data completeness"
    _shot(page, "english")
    page.locator('button[data-lang="fr"]').click()
    assert page.locator("#report-btn").inner_text() == "Complétude des données"
    assert page.problems == []


def test_search_and_completeness(page):
    page.locator("#search").fill("gare breaute")
    first = page.locator("#results li[data-i]").first
    first.wait_for()
    assert "Bréauté" in first.inner_text()
    first.click()
    page.locator("#detail h2").wait_for()
    page.locator("#report-btn").click()
    page.locator("table.report tbody tr").first.wait_for(timeout=10_000)
    assert page.locator("table.report tbody tr").count() >= 10
    _shot(page, "completeness")
    assert page.problems == []


def test_layer_endpoints_answer_compact_geojson_with_etag(server):
    layer = httpx.get(f"{server.url}/api/v1/ui/layers/parking")
    assert layer.status_code == 200 and layer.headers["content-encoding"] == "gzip"
    feature = layer.json()["features"][0]
    assert set(feature["properties"]) <= {"i", "n", "s", "v", "o", "c", "g"}
    again = httpx.get(
        f"{server.url}/api/v1/ui/layers/parking",
        headers={"If-None-Match": layer.headers["etag"]},
    )
    assert again.status_code == 304
    assert httpx.get(f"{server.url}/api/v1/ui/layers/nope").status_code == 404
    kpis = httpx.get(f"{server.url}/api/v1/kpis").json()
    assert len(kpis["parking"]["stations"]) == 3 and kpis["lighting"]["lights"] > 0
    assert httpx.get(f"{server.url}/about").status_code == 200


def test_the_page_carries_its_configuration_and_preloads_the_first_render(server):
    answer = httpx.get(f"{server.url}/")
    assert answer.headers["cache-control"] == "no-cache"
    page = answer.text
    config = orjson.loads(page.split('id="hyperville-config">')[1].split("</script>")[0])
    assert config == httpx.get(f"{server.url}/api/v1/ui/config").json()
    assert config["basemap"] is None  # the offline map by default
    west, south, east, north = config["bounds"]
    assert 0.2 < west < east < 1.0 and 49.3 < south < north < 49.9
    for url in config["assets"].values():  # the script, its styles, the map's worker
        assert f'href="{url}"' in page or f'src="{url}"' in page
    for layer in ("communes", "parking", "lights", "containers"):
        assert (
            f'<link rel="preload" href="/api/v1/ui/layers/{layer}" as="fetch" crossorigin>' in page
        )


def test_static_assets_are_served_precompressed_and_cached(server):
    assets = httpx.get(f"{server.url}/api/v1/ui/config").json()["assets"]
    url = server.url + assets["app.js"]
    raw = (STATIC / assets["app.js"].rsplit("/", 1)[1]).read_bytes()
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.content == raw and "content-encoding" not in plain.headers
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["vary"] == "Accept-Encoding"
    for coding, suffix in (("gzip", ".gz"), ("br", ".br")):
        packed = httpx.get(url, headers={"Accept-Encoding": f"{coding}, deflate"})
        assert packed.headers["content-encoding"] == coding
        built = (STATIC / f"{assets['app.js'].rsplit('/', 1)[1]}{suffix}").read_bytes()
        assert int(packed.headers["content-length"]) == len(built) < len(raw) / 3
        if coding == "gzip":  # (Chromium decodes the Brotli one in the browser tests)
            assert packed.content == raw
        assert packed.headers["etag"] != plain.headers["etag"]
        same = httpx.get(
            url, headers={"Accept-Encoding": coding, "If-None-Match": packed.headers["etag"]}
        )
        assert same.status_code == 304 and same.content == b""
    refused = httpx.get(url, headers={"Accept-Encoding": "br;q=0, gzip"})
    assert refused.headers["content-encoding"] == "gzip"
    assert httpx.get(f"{server.url}/static/build.json").headers["cache-control"] == "no-cache"
    for wrong in ("nope.js", "app.js", "..%2Fui.py", "build.json.gz"):
        assert httpx.get(f"{server.url}/static/{wrong}").status_code == 404


def _send(server, device: str, entity_id: str, entity_type: str, mapping: dict, reading: dict):
    """A reading through the ingestion path (the device is provisioned on first use)."""
    spec = {
        "deviceId": device,
        "entityId": entity_id,
        "entityType": entity_type,
        "mapping": mapping,
    }
    answer = httpx.post(f"{server.url}/api/v1/devices", json=spec)
    if answer.status_code == 201:
        _send.tokens[device] = answer.json()[0]["token"]
    sent = httpx.post(
        f"{server.url}/ingest/v1/devices/{device}/readings",
        json=reading,
        headers={"Authorization": f"Bearer {_send.tokens[device]}"},
    )
    assert sent.status_code == 200, sent.text


_send.tokens = {}


def test_an_alarm_appears_when_a_reading_crosses_a_threshold(page, server):
    containers = httpx.get(f"{server.url}/api/v1/ui/layers/containers").json()["features"]
    target = next(f["properties"]["i"] for f in containers if (f["properties"].get("v") or 0) < 50)
    row = page.locator(f'#alarms li.alarm[data-id="fill:{target}"]')
    assert row.count() == 0
    mapping = {"fill": {"attr": "fillingLevel"}}
    started = time.monotonic()
    _send(server, "ui-fill-1", target, "WasteContainer", mapping, {"fill": 0.93})
    row.wait_for(timeout=2000)
    assert time.monotonic() - started < 2.0
    assert "Conteneur rempli à 93 %" in row.inner_text()
    assert int(page.locator("#alarm-btn .count").inner_text()) >= 1
    row.click()
    page.wait_for_function(
        "id => document.querySelector('#detail .id')?.textContent === id", arg=target
    )
    page.wait_for_function(
        "window.hyperville.map.getZoom() >= 15.9 && !window.hyperville.map.isMoving()"
    )
    _shot(page, "alarm")
    page.locator("#detail .close").click()
    _send(server, "ui-fill-1", target, "WasteContainer", mapping, {"fill": 0.05})  # emptied
    row.wait_for(state="detached", timeout=2000)
    assert page.problems == []


def _png(width: int = 256, height: int = 256, rgb: tuple = (214, 226, 238)) -> bytes:
    """A plain PNG tile, made here (the tests never reach the internet)."""
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_an_external_basemap_is_drawn_from_the_configured_tiles(browser, ign_server):
    tiles: list[str] = []

    def tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, body=_png(), content_type="image/png")

    context, page = open_screen(browser, ign_server, routes=[("https://data.geopf.fr/**", tile)])
    page.wait_for_function("window.hyperville.map.isSourceLoaded('external')")
    assert tiles
    for url in tiles:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["LAYER"] == "GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"
        assert (query["TILEMATRIXSET"], query["FORMAT"], query["STYLE"]) == (
            "PM",
            "image/png",
            "normal",
        )
        zoom, row, col = int(query["TILEMATRIX"]), int(query["TILEROW"]), int(query["TILECOL"])
        assert 8 <= zoom <= 12 and 0 <= row < 2**zoom and 0 <= col < 2**zoom
    source = page.evaluate("window.hyperville.map.getStyle().sources.external")
    assert source["tiles"] == [IGN_PLAN]
    assert "IGN" in page.locator(".maplibregl-ctrl-attrib").text_content()
    visibility = "id => window.hyperville.map.getLayoutProperty(id, 'visibility')"
    assert page.evaluate(visibility, "external") == "visible"
    assert page.evaluate(visibility, "roads") == "none"  # the basemap draws them
    _shot(page, "basemap-ign")
    page.locator('input[name=basemap][value="twin"]').check()
    assert page.evaluate(visibility, "external") == "none"
    assert page.evaluate(visibility, "roads") == "visible"
    assert page.problems == []
    context.close()
