"""The real program: ``hyperville serve`` in its own process, spoken to over TCP."""

from __future__ import annotations

import httpx

from hyperville.testing import live_server

ENTITY = {
    "id": "urn:ngsi-ld:OffStreetParking:gare-bolbec",
    "type": "OffStreetParking",
    "availableSpotNumber": {"type": "Property", "value": 42},
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [0.4731, 49.5729]},
    },
}


def test_serve_persists_entities_across_restarts(tmp_path):
    db = tmp_path / "twin.sqlite"
    with live_server(db) as server:
        created = httpx.post(f"{server.ngsi_ld}/entities", json=ENTITY)
        assert created.status_code == 201, created.text
        patched = httpx.patch(
            f"{server.ngsi_ld}/entities/{ENTITY['id']}/attrs/availableSpotNumber",
            json={"value": 17},
        )
        assert patched.status_code == 204
    with live_server(db) as server:
        got = httpx.get(
            f"{server.ngsi_ld}/entities/{ENTITY['id']}", params={"options": "keyValues"}
        )
        assert got.status_code == 200
        assert got.json()["availableSpotNumber"] == 17
        near = httpx.get(
            f"{server.ngsi_ld}/entities",
            params={
                "type": "OffStreetParking",
                "georel": "near;maxDistance==100",
                "geometry": "Point",
                "coordinates": "[0.4732,49.5729]",
            },
        )
        assert [e["id"] for e in near.json()] == [ENTITY["id"]]
    # a clean stop on SIGTERM: uvicorn finishes the lifespan (the store closes), then re-raises
    assert "Application shutdown complete" in server.log()
    assert (
        not (tmp_path / "twin.sqlite-wal").exists()
        or (tmp_path / "twin.sqlite-wal").stat().st_size == 0
    )


def test_serve_refuses_a_bad_configuration(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("port: not-a-number\n")
    result = subprocess.run(
        [sys.executable, "-m", "hyperville.cli", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HYPERVILLE_DEMO_MODE": "true"},
    )
    assert result.returncode == 2
    assert "port" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_component_fails_in_ci_and_skips_elsewhere(monkeypatch):
    import pytest

    from hyperville.testing import port_open, require_component

    require_component(True, "present")  # nothing happens
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needed in CI"):
        require_component(False, "Mosquitto is not running")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_component(False, "Mosquitto is not running")
    assert port_open("127.0.0.1", 9) is False  # the discard port: nothing listens here
