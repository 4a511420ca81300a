"""The operations screen in a real browser (Debian's Chromium driven by Playwright) against a
real ``hyperville serve`` on a small generated territory.

Screenshots go to ``test-artifacts/`` (gitignored). The bundle in ``src/hyperville/web/static``
is committed; ``test_bundle_is_built_from_the_sources`` fails when ``web/`` changed without
``./run ui``.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from hyperville.demo import prepare_demo
from hyperville.settings import Settings
from hyperville.testing import CHROMIUM, live_server, require_component
from hyperville.testing import CHROMIUM_ARGS as ARGS

ROOT = Path(__file__).resolve().parents[2]
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
    built = orjson.loads((ROOT / "src/hyperville/web/static/build.json").read_bytes())
    assert built["hash"] == _source_hash(ROOT / "web"), "web/ changed: run ./run ui"
    for name in ("app.js", "app.css", "maplibre-gl-worker.mjs"):
        assert (ROOT / "src/hyperville/web/static" / name).stat().st_size > 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("ui") / "demo.sqlite"
    prepare_demo(Settings(db_path=db, demo_mode=True), scale=0.05, say=lambda _: None)
    with live_server(db) as running:
        _history(running.ngsi_ld)
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


@pytest.fixture
def page(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    opened.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    opened.problems = problems  # type: ignore[attr-defined]
    opened.goto(server.url + "/")
    opened.wait_for_function("window.hyperville && window.hyperville.ready", timeout=20_000)
    yield opened
    context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))


def test_page_loads_without_console_errors(page):
    assert page.locator("#kpi-parking .kpi-station").count() == 3
    assert page.locator(".cluster").count() > 0  # streetlights and containers, clustered
    assert page.evaluate("window.hyperville.points.lights.size") > 100
    _shot(page, "home")
    assert page.problems == []


def test_layers_toggle(page):
    visible = "window.hyperville.map.getLayoutProperty('lights', 'visibility') ?? 'visible'"
    clusters = page.locator(".cluster.lights").count()
    assert clusters > 0
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
            const f = [...window.hyperville.points.cabinets.values()][0];
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
