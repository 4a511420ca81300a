"""Layers persisted in the twin's file: a restarted server answers from them only while they
are current (an in-process app over a real SQLite twin, restarted between steps)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from hyperville.api.app import create_app
from hyperville.settings import Settings
from hyperville.store.base import DEFAULT_TENANT
from hyperville.store.sqlite import SQLiteStore
from hyperville.twin import Twin
from hyperville.web import layer_answers
from hyperville.web.features import CORE, VOCAB
from hyperville.web.layers import LayerCache

SCHOOL = "urn:ngsi-ld:Building:B-1"
HALL = "urn:ngsi-ld:Building:B-2"
LIGHT = "urn:ngsi-ld:Streetlight:L-1"
BUILDINGS = "/api/v1/ui/layers/buildings"


def _square(lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat]]
    return {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": [ring]}}


def _building(entity_id: str, category: str, lon: float) -> dict:
    return {
        "id": entity_id,
        "type": [VOCAB + "Building"],
        "attrs": {
            VOCAB + "category": [{"type": "Property", "value": category}],
            CORE + "location": [_square(lon, 49.55)],
        },
    }


def _write(db: Path, write) -> None:
    """Run ``write(twin)`` on the twin's file with no server running (no change event)."""
    store = SQLiteStore(db)
    store.open()
    try:
        asyncio.run(write(Twin(store)))
    finally:
        store.close()


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    path = tmp_path / "twin.sqlite"

    async def create(twin: Twin) -> None:
        await twin.create(DEFAULT_TENANT, _building(SCHOOL, "residential", 0.5))
        await twin.create(DEFAULT_TENANT, _building(HALL, "office", 0.51))
        light = {"id": LIGHT, "type": [VOCAB + "Streetlight"],
                 "attrs": {CORE + "location": [{"type": "GeoProperty", "value": {
                     "type": "Point", "coordinates": [0.5, 49.56]}}]}}  # fmt: skip
        await twin.create(DEFAULT_TENANT, light)

    _write(path, create)
    return path


@contextlib.contextmanager
def serving(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=db))) as client:
        yield client


def _persisted(db: Path, layer: str, timeout_s: float = 10.0) -> str:
    """The ETag persisted for ``layer`` (waits for the background save)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with (
            contextlib.closing(sqlite3.connect(db)) as conn,
            contextlib.suppress(sqlite3.OperationalError),  # no table yet
        ):
            row = conn.execute("SELECT etag FROM ui_layer_answers WHERE layer=?", (layer,))
            found = row.fetchone()
            if found is not None:
                return found[0]
        assert time.monotonic() < deadline, f"layer {layer} was never persisted"
        time.sleep(0.05)


def _categories(answer) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {f["properties"]["i"]: f["properties"]["s"] for f in answer.json()["features"]}


def test_a_restarted_server_answers_the_persisted_layer_with_the_same_etag(db):
    with serving(db) as api:
        first = api.get(BUILDINGS)
        assert _categories(first) == {SCHOOL: "residential", HALL: "office"}
        assert _persisted(db, "buildings") == first.headers["etag"]
    with serving(db) as api:
        again = api.get(BUILDINGS)
        assert again.headers["etag"] == first.headers["etag"]  # restored, not read again
        assert again.headers["content-encoding"] == "gzip"
        assert again.headers["vary"] == "Accept-Encoding"
        assert again.content == first.content
        plain = api.get(BUILDINGS, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == first.content
        cached = api.get(BUILDINGS, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304
        # the restored layer still follows live changes, under a new ETag
        patch = {"category": {"type": "Property", "value": "school"}}
        assert api.patch(f"/ngsi-ld/v1/entities/{SCHOOL}/attrs", json=patch).status_code == 204
        changed = api.get(BUILDINGS)
        assert _categories(changed) == {SCHOOL: "school", HALL: "office"}
        assert changed.headers["etag"] != first.headers["etag"]
        assert api.get("/api/v1/ui/search", params={"q": "B-2"}).json()["results"][0]["id"] == HALL


def test_a_write_made_while_no_server_ran_is_shown_after_the_restart(db):
    with serving(db) as api:
        first = api.get(BUILDINGS)
        assert _categories(first) == {SCHOOL: "residential", HALL: "office"}
        assert _persisted(db, "buildings") == first.headers["etag"]

    async def renovate(twin: Twin) -> None:  # another process, straight to the store
        patch = {"attrs": {VOCAB + "category": [{"type": "Property", "value": "school"}]}}
        await twin.merge(DEFAULT_TENANT, SCHOOL, patch)

    _write(db, renovate)
    with serving(db) as api:
        after = api.get(BUILDINGS)
        assert _categories(after) == {SCHOOL: "school", HALL: "office"}
        assert after.headers["etag"] != first.headers["etag"]
        assert _persisted(db, "buildings") == after.headers["etag"]  # persisted again

    _write(db, lambda twin: twin.delete(DEFAULT_TENANT, HALL))
    with serving(db) as api:
        assert _categories(api.get(BUILDINGS)) == {SCHOOL: "school"}


def test_a_deletion_reaches_a_restored_layer_before_its_features_are_parsed(db):
    with serving(db) as api:
        first = api.get(BUILDINGS)
        assert _persisted(db, "buildings") == first.headers["etag"]
    store = SQLiteStore(db)
    store.open()
    try:
        cache = LayerCache(Twin(store))
        assert cache.blob("buildings").etag == first.headers["etag"]
        assert "buildings" in cache._unparsed  # served from its gzip form alone
        assert cache.apply(DEFAULT_TENANT, HALL, None)[0].id == "buildings"  # deleted
        assert [f["properties"]["i"] for f in cache.snapshot("buildings")] == [SCHOOL]
        assert cache.blob("buildings").etag != first.headers["etag"]
    finally:
        store.close()


def test_another_feature_code_does_not_restore_the_persisted_layers(db, monkeypatch):
    with serving(db) as api:
        first = api.get(BUILDINGS)
        assert _persisted(db, "buildings") == first.headers["etag"]
    monkeypatch.setattr(layer_answers, "code_digest", lambda: b"another hyperville")
    with serving(db) as api:
        assert api.get(BUILDINGS).headers["etag"] != first.headers["etag"]


def test_the_persisted_answer_is_the_served_geojson(db):
    with serving(db) as api:
        first = api.get(BUILDINGS)
        etag = _persisted(db, "buildings")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (gz,) = conn.execute("SELECT gz FROM ui_layer_answers WHERE etag=?", (etag,)).fetchone()
    assert orjson.loads(gzip.decompress(gz)) == first.json()
