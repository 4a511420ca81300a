"""Tests for hyperville.ngsild.context: built-in cores, cache dir, nesting, remote, protection."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from hyperville.core.errors import BadRequestData, LdContextNotAvailable
from hyperville.ngsild import context as context_mod
from hyperville.ngsild.context import BUILTIN_URLS, CORE_CONTEXT_URL, ContextResolver
from shared_data import SMART_DATA_MODELS

SDM = SMART_DATA_MODELS
NGSILD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT = NGSILD + "default-context/"
STREETLIGHT_URL = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Streetlighting/master/"
    "context.jsonld"
)
SL = "https://smartdatamodels.org/dataModel.Streetlighting/"


def write_cache(cache: Path, docs: dict[str, object]) -> Path:
    """Write documents into a cache directory with its index.json."""
    cache.mkdir(parents=True, exist_ok=True)
    index = {}
    for i, (url, doc) in enumerate(docs.items()):
        name = f"doc{i}.jsonld"
        (cache / name).write_text(json.dumps(doc))
        index[url] = name
    (cache / "index.json").write_text(json.dumps(index))
    return cache


@pytest.fixture
def offline(tmp_path: Path) -> ContextResolver:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(SDM / "Streetlighting" / "context.jsonld", cache / "streetlighting.jsonld")
    (cache / "index.json").write_text(json.dumps({STREETLIGHT_URL: "streetlighting.jsonld"}))
    return ContextResolver(cache, allow_remote=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(context_mod.httpx, "get", boom)


# -- built-in core contexts ---------------------------------------------------------------


@pytest.mark.parametrize("url", sorted(BUILTIN_URLS))
def test_every_core_version_is_builtin(url: str, no_network: None) -> None:
    resolver = ContextResolver()
    assert resolver.is_resolved(url)
    ctx = resolver.resolve(url)
    assert ctx.expand_term("location") == NGSILD + "location"
    assert ctx.expand_term("temperature") == DEFAULT + "temperature"
    assert ctx.link_url == url


def test_versions_map_to_nearest_later_copy() -> None:
    base = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
    assert BUILTIN_URLS[base + "-v1.5.jsonld"] == "v1.8"
    assert BUILTIN_URLS[base + "-v1.7.jsonld"] == "v1.8"
    assert BUILTIN_URLS[base + "-v1.2.jsonld"] == "v1.3"
    assert BUILTIN_URLS[base + ".jsonld"] == "v1.8"


def test_v19_security_context_is_never_fetched(no_network: None) -> None:
    resolver = ContextResolver()
    ctx = resolver.resolve([{"a": "http://x/a"}, f"{NGSILD}v1/ngsi-ld-core-context-v1.9.jsonld"])
    assert ctx.expand_term("ngsildproof") == NGSILD + "ngsildproof"
    assert ctx.expand_term("snapshotId") == NGSILD + "snapshotId"  # a v1.9-only term
    assert ctx.expand_term("a") == "http://x/a"


def test_core_terms_vocab_prefixes_and_types() -> None:
    core = ContextResolver().core()
    assert core.raw == CORE_CONTEXT_URL and core.link_url == CORE_CONTEXT_URL
    assert core.vocab == DEFAULT
    assert core.expand_term("observedAt") == NGSILD + "observedAt"
    assert core.expand_term("ngsi-ld:custom") == NGSILD + "custom"
    assert core.expand_term("geojson:Point") == "https://purl.org/geojson/vocab#Point"
    assert core.expand_term("urn:ngsi-ld:x") == "urn:ngsi-ld:x"
    assert core.expand_term("http://example.org/a") == "http://example.org/a"
    assert core.compact_iri(NGSILD + "location") == "location"
    assert core.compact_iri(DEFAULT + "temperature") == "temperature"
    assert core.compact_iri(NGSILD + "unknownThing") == "ngsi-ld:unknownThing"
    assert core.compact_iri("http://example.org/a") == "http://example.org/a"
    assert core.term_type("vocab") == "@vocab"
    assert core.term_type(NGSILD + "hasVocab") == "@vocab"
    assert core.term_type("json") == "@json"
    assert core.term_type("object") == "@id"
    assert core.term_type("observedAt") == NGSILD + "DateTime"
    assert core.term_type("temperature") is None


def test_none_and_empty_list_give_the_core() -> None:
    resolver = ContextResolver()
    assert resolver.resolve(None) is resolver.core()
    assert resolver.resolve([]) is resolver.core()
    assert resolver.is_resolved(None)


# -- user contexts ------------------------------------------------------------------------


def test_prefixes_and_terms_defined_through_other_terms() -> None:
    local = {
        "ex": "http://example.org/ns#",
        "temp": "ex:temperature",
        "kind": {"@id": "ex:kind", "@type": "@vocab"},
        "alias": "temp",
        "later": "ex2:thing",
        "ex2": {"@id": "http://example.com/v/", "@prefix": True},
        "ngsiTerm": "ngsi-ld:myTerm",
    }
    ctx = ContextResolver().resolve(local)
    assert ctx.expand_term("temp") == "http://example.org/ns#temperature"
    assert ctx.expand_term("alias") == "http://example.org/ns#temperature"
    assert ctx.expand_term("ex:other") == "http://example.org/ns#other"
    assert ctx.expand_term("later") == "http://example.com/v/thing"
    assert ctx.expand_term("ngsiTerm") == NGSILD + "myTerm"
    assert ctx.term_type("kind") == "@vocab"
    assert ctx.compact_iri("http://example.org/ns#temperature") == "temp"  # shortest term
    assert ctx.compact_iri("http://example.org/ns#unknown") == "ex:unknown"
    assert ctx.link_url is None
    assert ctx.raw == local


def test_core_terms_are_protected() -> None:
    user = {
        "location": "http://evil.example/location",
        "observedAt": {"@id": "http://evil.example/obs", "@type": "@id"},
        "ngsi-ld": "http://evil.example/",
        "@vocab": "http://evil.example/vocab/",
    }
    ctx = ContextResolver().resolve(
        [user, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"]
    )
    assert ctx.expand_term("location") == NGSILD + "location"
    assert ctx.expand_term("observedAt") == NGSILD + "observedAt"
    assert ctx.term_type("observedAt") == NGSILD + "DateTime"
    assert ctx.expand_term("ngsi-ld:x") == NGSILD + "x"
    assert ctx.expand_term("anything") == DEFAULT + "anything"  # the core @vocab wins
    assert ctx.compact_iri("http://evil.example/location") == "http://evil.example/location"


def test_null_resets_user_terms_and_null_term_removes_definition() -> None:
    resolver = ContextResolver()
    ctx = resolver.resolve([{"a": "http://x/a"}, None, {"b": "http://x/b"}])
    assert ctx.expand_term("a") == DEFAULT + "a"
    assert ctx.expand_term("b") == "http://x/b"
    ctx = resolver.resolve([{"a": "http://x/a"}, {"a": None}])
    assert ctx.expand_term("a") == DEFAULT + "a"


def test_resolution_is_memoized_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = ContextResolver()
    a = resolver.resolve({"t": "http://x/t"})
    assert resolver.resolve({"t": "http://x/t"}) is a
    monkeypatch.setattr(context_mod, "MEMO_SIZE", 3)
    for i in range(10):
        resolver.resolve({f"t{i}": f"http://x/{i}"})
    assert len(resolver._memo) == 3
    assert resolver.resolve({"t": "http://x/t"}) is not a


@pytest.mark.parametrize("bad", [42, [[{"a": "b"}]], [{"a": 3}], {"a": {"@id": 5}}])
def test_invalid_context_values(bad: object) -> None:
    with pytest.raises(BadRequestData):
        ContextResolver().resolve(bad)


# -- cache directory ----------------------------------------------------------------------


def test_cache_dir_serves_smart_data_models_without_network(
    offline: ContextResolver, no_network: None
) -> None:
    assert not offline.is_resolved(STREETLIGHT_URL)
    ctx = offline.resolve(STREETLIGHT_URL)
    assert offline.is_resolved(STREETLIGHT_URL)
    assert ctx.link_url == STREETLIGHT_URL
    assert ctx.expand_term("powerState") == SL + "powerState"
    assert ctx.expand_term("Streetlight") == SL + "Streetlight"
    assert ctx.compact_iri(SL + "powerState") == "powerState"
    assert ctx.expand_term("status") == NGSILD + "status"  # core term, protected
    both = offline.resolve([STREETLIGHT_URL, CORE_CONTEXT_URL])
    assert both.link_url == STREETLIGHT_URL


def test_nested_contexts_and_import(tmp_path: Path, no_network: None) -> None:
    cache = write_cache(
        tmp_path / "c",
        {
            "http://ctx.test/top.jsonld": {
                "@context": ["http://ctx.test/base.jsonld", {"top": "base:top"}]
            },
            "http://ctx.test/base.jsonld": {"@context": {"base": "http://base.test/"}},
            "http://ctx.test/imp.jsonld": {"@context": {"imported": "http://imp.test/i"}},
        },
    )
    resolver = ContextResolver(cache, allow_remote=False)
    ctx = resolver.resolve("http://ctx.test/top.jsonld")
    assert ctx.expand_term("top") == "http://base.test/top"
    assert ctx.expand_term("base:z") == "http://base.test/z"
    ctx = resolver.resolve({"@import": "http://ctx.test/imp.jsonld", "own": "http://own.test/o"})
    assert ctx.expand_term("imported") == "http://imp.test/i"
    assert ctx.expand_term("own") == "http://own.test/o"
    assert resolver.is_resolved({"@import": "http://ctx.test/imp.jsonld"})


def test_context_loops_and_depth_are_rejected(tmp_path: Path, monkeypatch) -> None:
    cache = write_cache(
        tmp_path / "c",
        {
            "http://ctx.test/a": {"@context": ["http://ctx.test/b"]},
            "http://ctx.test/b": {"@context": ["http://ctx.test/a"]},
        },
    )
    resolver = ContextResolver(cache, allow_remote=False)
    with pytest.raises(BadRequestData, match="recursive"):
        resolver.resolve("http://ctx.test/a")
    docs = {f"http://ctx.test/d{i}": {"@context": f"http://ctx.test/d{i + 1}"} for i in range(12)}
    resolver = ContextResolver(write_cache(tmp_path / "d", docs), allow_remote=False)
    with pytest.raises(BadRequestData, match="deeper"):
        resolver.resolve("http://ctx.test/d0")


def test_cached_document_without_context_member(tmp_path: Path) -> None:
    cache = write_cache(tmp_path / "c", {"http://ctx.test/x": {"terms": {}}})
    with pytest.raises(LdContextNotAvailable, match="http://ctx.test/x"):
        ContextResolver(cache, allow_remote=False).resolve("http://ctx.test/x")


def test_unknown_url_with_remote_disabled(offline: ContextResolver) -> None:
    with pytest.raises(LdContextNotAvailable, match="http://nowhere.test/c.jsonld"):
        offline.resolve("http://nowhere.test/c.jsonld")
    with pytest.raises(LdContextNotAvailable):
        offline.resolve("relative.jsonld")


# -- network ------------------------------------------------------------------------------


def test_connection_refused_is_fast() -> None:
    url = "http://127.0.0.1:9/ctx.jsonld"
    resolver = ContextResolver(fetch_timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(LdContextNotAvailable, match="127.0.0.1:9/ctx.jsonld"):
        resolver.resolve(url)
    assert time.monotonic() - start < 1.0
    assert not resolver.is_resolved(url)
    start = time.monotonic()
    with pytest.raises(LdContextNotAvailable):  # remembered failure: no second attempt
        resolver.resolve([url])
    assert time.monotonic() - start < 0.05


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}
    seen_accept: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.seen_accept.append(self.headers.get("Accept", ""))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/good.jsonld")
            self.end_headers()
            return
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "application/ld+json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    _Handler.routes = {
        "/good.jsonld": (200, json.dumps({"@context": {"speed": "http://v.test/speed"}}).encode()),
        "/nojson": (200, b"<html>"),
        "/noctx": (200, b'{"a": 1}'),
        "/err": (500, b"{}"),
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_fetch_is_cached_in_memory_and_on_disk(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    resolver = ContextResolver(cache)
    url = server + "/redirect"
    ctx = resolver.resolve(url)
    assert ctx.expand_term("speed") == "http://v.test/speed"
    assert "application/ld+json" in _Handler.seen_accept[-1]
    assert resolver.is_resolved(url)
    index = json.loads((cache / "index.json").read_text())
    assert url in index and (cache / index[url]).exists()
    offline = ContextResolver(cache, allow_remote=False)
    assert offline.resolve(url).expand_term("speed") == "http://v.test/speed"


@pytest.mark.parametrize("path", ["/nojson", "/noctx", "/err", "/missing"])
def test_remote_failures(server: str, path: str) -> None:
    with pytest.raises(LdContextNotAvailable, match=path):
        ContextResolver().resolve(server + path)
