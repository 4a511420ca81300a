"""Alarms from the twin's live state, written through the ingestion path and the NGSI-LD API
(an in-process app over a real SQLite twin)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from hyperville.api.app import create_app
from hyperville.settings import Settings
from hyperville.web import air_quality

BOLBEC = [[[0.45, 49.55], [0.52, 49.55], [0.52, 49.6], [0.45, 49.6], [0.45, 49.55]]]
CONTAINER = "urn:ngsi-ld:WasteContainer:PAV-1"
PARK = "urn:ngsi-ld:OffStreetParking:PK-1"
STATION = "urn:ngsi-ld:AirQualityObserved:AQ-1"
LIGHT = "urn:ngsi-ld:Streetlight:L-1"
CENTRE = "urn:ngsi-ld:RecyclingCentre:DEC-1"


def _point(lon: float, lat: float) -> dict:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    with TestClient(create_app(Settings(db_path=tmp_path / "alarms.sqlite"))) as client:
        entities = [
            {"id": "urn:ngsi-ld:AdministrativeArea:76114", "type": "AdministrativeArea",
             "name": {"type": "Property", "value": "Bolbec"},
             "location": {"type": "GeoProperty",
                          "value": {"type": "Polygon", "coordinates": BOLBEC}}},
            {"id": CONTAINER, "type": "WasteContainer", "location": _point(0.48, 49.57),
             "name": {"type": "Property", "value": "PAV place du marché"}},
            {"id": PARK, "type": "OffStreetParking", "location": _point(0.49, 49.58),
             "totalSpotNumber": {"type": "Property", "value": 100}},
            {"id": STATION, "type": "AirQualityObserved", "location": _point(0.5, 49.56)},
            {"id": LIGHT, "type": "Streetlight", "location": _point(0.47, 49.59)},
            {"id": CENTRE, "type": "RecyclingCentre", "location": _point(0.46, 49.58)},
        ]  # fmt: skip
        answer = client.post("/ngsi-ld/v1/entityOperations/create", json=entities)
        assert answer.status_code == 201, answer.text
        yield client


def _device(api, entity_id: str, entity_type: str, mapping: dict) -> str:
    spec = {"deviceId": f"dev-{entity_id.rsplit(':', 1)[-1]}", "entityId": entity_id,
            "entityType": entity_type, "mapping": mapping}  # fmt: skip
    answer = api.post("/api/v1/devices", json=spec)
    assert answer.status_code == 201, answer.text
    return answer.json()[0]["token"]


def _send(api, entity_id: str, token: str, reading: dict) -> None:
    device = f"dev-{entity_id.rsplit(':', 1)[-1]}"
    answer = api.post(
        f"/ingest/v1/devices/{device}/readings",
        json=reading,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text


def _alarms(api) -> dict:
    answer = api.get("/api/v1/alarms")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_full_container_raises_an_alarm_until_it_is_emptied(api):
    token = _device(api, CONTAINER, "WasteContainer", {"fill": {"attr": "fillingLevel"}})
    assert _alarms(api)["alarms"] == []
    observed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    _send(api, CONTAINER, token, {"fill": 0.86, "ts": _stamp(observed)})
    body = _alarms(api)
    assert body["counts"] == {"critical": 0, "major": 0, "minor": 1}
    (alarm,) = body["alarms"]
    assert alarm["id"] == f"fill:{CONTAINER}"
    assert (alarm["kind"], alarm["severity"], alarm["value"]) == ("fill", "minor", 86)
    assert (alarm["entity"], alarm["type"], alarm["layer"]) == (
        CONTAINER,
        "WasteContainer",
        "containers",
    )
    assert alarm["name"] == "PAV place du marché" and alarm["commune"] == "Bolbec"
    assert alarm["since"] == int(observed.timestamp())
    assert alarm["center"] == [0.48, 49.57]
    assert alarm["message"] == {"fr": "Conteneur rempli à 86 %", "en": "Container 86 % full"}

    _send(api, CONTAINER, token, {"fill": 0.97})  # fuller: the same alarm, now major
    (alarm,) = _alarms(api)["alarms"]
    assert (alarm["severity"], alarm["value"]) == ("major", 97)
    assert alarm["since"] == int(observed.timestamp())  # still the reading that raised it

    _send(api, CONTAINER, token, {"fill": 0.1})  # emptied
    assert _alarms(api)["alarms"] == []


def test_air_quality_thresholds(api):
    mapping = {"no2": {"attr": "no2", "unit": "GQ"}, "o3": {"attr": "o3", "unit": "GQ"}}
    token = _device(api, STATION, "AirQualityObserved", mapping)
    _send(api, STATION, token, {"no2": 120.0, "o3": 90.0})
    assert _alarms(api)["alarms"] == []
    _send(api, STATION, token, {"no2": 250.0, "o3": 90.0})
    (alarm,) = _alarms(api)["alarms"]
    assert (alarm["kind"], alarm["severity"], alarm["value"]) == ("air", "major", 250.0)
    assert alarm["message"]["fr"] == "Seuil d’information dépassé : NO2 250 µg/m³ (seuil 200)"
    assert alarm["message"]["en"] == "Information threshold exceeded: NO2 250 µg/m³ (threshold 200)"
    _send(api, STATION, token, {"no2": 250.0, "o3": 260.0})  # O3 above its alert threshold
    (alarm,) = _alarms(api)["alarms"]
    assert (alarm["severity"], alarm["value"]) == ("critical", 260.0)
    assert alarm["message"]["en"].startswith("Alert threshold exceeded: O3 260")
    layer = api.get("/api/v1/ui/layers/environment").json()
    assert layer["features"][0]["properties"] | {"o": 0} == {
        "i": STATION, "s": "alert", "p": "o3", "v": 260.0, "o": 0}  # fmt: skip


def test_air_quality_levels_follow_the_regulation():
    # Code de l'environnement, R221-1: information / alert thresholds, µg/m³
    assert air_quality.level({"so2": (299.9, "GQ")}) == ("ok", None, None)
    assert air_quality.level({"so2": (300.0, "GQ")}) == ("info", "so2", 300.0)
    assert air_quality.level({"pm10": (80.0, None)}) == ("alert", "pm10", 80.0)
    assert air_quality.level({"no2": (500.0, "PPB")}) == ("unknown", None, None)  # other unit
    assert air_quality.level({"pm25": (90.0, "GQ")}) == ("unknown", None, None)  # no threshold


def test_silent_sensor_fault_full_and_crowded(api):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    now = _stamp(datetime.now(UTC))
    updates = [
        (PARK, {"availableSpotNumber": {"type": "Property", "value": 40,
                                        "observedAt": _stamp(long_ago)}}),
        (LIGHT, {"status": {"type": "Property", "value": "broken", "observedAt": now},
                 "powerState": {"type": "Property", "value": "off", "observedAt": now}}),
        (CENTRE, {"vehicleEntranceCount": {"type": "Property", "value": 31, "observedAt": now}}),
    ]  # fmt: skip
    for entity_id, attrs in updates:
        answer = api.post(f"/ngsi-ld/v1/entities/{entity_id}/attrs", json=attrs)
        assert answer.status_code == 204, answer.text
    alarms = {a["id"]: a for a in _alarms(api)["alarms"]}
    assert set(alarms) == {f"silent:{PARK}", f"fault:{LIGHT}", f"crowded:{CENTRE}"}
    silent = alarms[f"silent:{PARK}"]
    assert silent["severity"] == "major"
    assert silent["since"] == int(long_ago.timestamp()) + 1800  # the car parks' allowed silence
    assert silent["message"]["en"] == "Sensor silent for more than 30 min"
    assert alarms[f"fault:{LIGHT}"]["severity"] == "major"
    assert alarms[f"crowded:{CENTRE}"]["value"] == 31
    # most severe first, then newest first
    order = [a["id"] for a in _alarms(api)["alarms"]]
    assert order == [f"fault:{LIGHT}", f"silent:{PARK}", f"crowded:{CENTRE}"]

    # a fresh reading: no longer silent, but 2 spaces of 100 free is full
    fresh = {"availableSpotNumber": {"type": "Property", "value": 2, "observedAt": now}}
    assert api.post(f"/ngsi-ld/v1/entities/{PARK}/attrs", json=fresh).status_code == 204
    alarms = {a["id"]: a for a in _alarms(api)["alarms"]}
    assert f"silent:{PARK}" not in alarms
    assert alarms[f"full:{PARK}"]["message"]["fr"] == "Parking saturé : 2 places libres sur 100"
    # deleting the entity clears its alarms
    assert api.delete(f"/ngsi-ld/v1/entities/{LIGHT}").status_code == 204
    assert f"fault:{LIGHT}" not in {a["id"] for a in _alarms(api)["alarms"]}


def test_a_sensor_falls_silent_without_any_change(api):
    book = api.app.state.alarms
    token = _device(api, CONTAINER, "WasteContainer", {"fill": {"attr": "fillingLevel"}})
    _send(api, CONTAINER, token, {"fill": 0.3})
    assert book.sweep(force=True) == ([], [])
    later = time.time() + 6 * 3600 + 60  # the containers' allowed silence is 6 h
    raised, cleared = book.sweep(later, force=True)
    assert [a["id"] for a in raised] == [f"silent:{CONTAINER}"] and cleared == []
    assert book.sweep(later + 1, force=True) == ([], [])  # raised once


def test_ui_endpoints_answer_problem_details(api):
    answer = api.get("/api/v1/ui/layers/nope")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["status"] == 404 and "no layer 'nope'" in answer.json()["detail"]
    answer = api.get("/api/v1/ui/search", params={"q": "bolbec", "limit": "0"})
    assert answer.status_code == 400 and "limit" in answer.json()["detail"]
    found = api.get("/api/v1/ui/search", params={"q": "bolbec pav"}).json()["results"]
    assert [r["id"] for r in found] == [CONTAINER] and found[0]["commune"] == "Bolbec"
