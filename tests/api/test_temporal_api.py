"""The NGSI-LD temporal API: provision, retrieval, query, aggregation, errors."""

from __future__ import annotations

import pytest

B = "/ngsi-ld/v1/temporal"
E = "urn:ngsi-ld:Vehicle:t1"


def _vehicle() -> dict:
    return {
        "id": E,
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 120, "observedAt": "2020-09-01T12:03:00Z"},
            {"type": "Property", "value": 80, "observedAt": "2020-09-01T12:05:00Z"},
        ],
        "fuelLevel": [
            {
                "type": "Property",
                "value": 40,
                "observedAt": "2020-09-01T14:07:00Z",
                "datasetId": "urn:ngsi-ld:Dataset:fuel",
            }
        ],
    }


@pytest.fixture
def vehicle(api):
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    return api


def test_create_then_retrieve_and_current_state(vehicle):
    body = vehicle.get(f"{B}/entities/{E}").json()
    assert [i["value"] for i in body["speed"]] == [120, 80]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:") for i in body["speed"])
    current = vehicle.get(f"/ngsi-ld/v1/entities/{E}").json()
    assert current["speed"]["value"] == 80  # the newest instance is the current state
    # a second POST adds instances: 204, and an older one does not change the current state
    more = {
        "id": E,
        "type": "Vehicle",
        "speed": {"type": "Property", "value": 5, "observedAt": "2020-09-01T11:00:00Z"},
    }
    assert vehicle.post(f"{B}/entities/", json=more).status_code == 204
    assert vehicle.get(f"/ngsi-ld/v1/entities/{E}").json()["speed"]["value"] == 80
    assert len(vehicle.get(f"{B}/entities/{E}?attrs=speed").json()["speed"]) == 3


def test_entity_api_writes_are_historized(vehicle):
    patch = {"speed": {"type": "Property", "value": 90, "observedAt": "2020-09-01T12:10:00Z"}}
    assert vehicle.patch(f"/ngsi-ld/v1/entities/{E}/attrs", json=patch).status_code == 204
    body = vehicle.get(
        f"{B}/entities/{E}?options=temporalValues&timerel=after&timeAt=2020-09-01T12:04:00Z"
    ).json()
    assert [v[0] for v in body["speed"]["values"]] == [80, 90]
    assert body["fuelLevel"]["datasetId"] == "urn:ngsi-ld:Dataset:fuel"


def test_query_last_n_and_between(vehicle):
    found = vehicle.get(f"{B}/entities?type=Vehicle&lastN=1").json()
    assert [i["value"] for i in found[0]["speed"]] == [80]
    between = vehicle.get(
        f"{B}/entities?type=Vehicle&timerel=between&timeAt=2020-09-01T12:00:00Z"
        "&endTimeAt=2020-09-01T12:04:00Z&attrs=speed"
    ).json()
    assert [i["value"] for i in between[0]["speed"]] == [120] and "fuelLevel" not in between[0]
    posted = vehicle.post(
        f"{B}/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "Vehicle"}],
            "attrs": ["speed"],
            "temporalQ": {"timerel": "before", "timeAt": "2020-09-01T12:04:00Z"},
        },
    )
    assert posted.status_code == 200
    assert [i["value"] for i in posted.json()[0]["speed"]] == [120]


def test_aggregated_values(vehicle):
    body = vehicle.get(
        f"{B}/entities/{E}?options=aggregatedValues&aggrMethods=avg,max,totalCount,stddev"
        "&aggrPeriodDuration=PT1H&attrs=speed"
    ).json()
    speed = body["speed"]
    assert speed["avg"][0][0] == 100 and speed["max"][0][0] == 120
    # without a time range, periods start at the first instance
    assert speed["totalCount"][0] == [2, "2020-09-01T12:03:00Z", "2020-09-01T13:03:00Z"]
    assert speed["stddev"][0][0] == 20


def test_instance_patch_and_delete(vehicle):
    instance_id = vehicle.get(f"{B}/entities/{E}").json()["speed"][0]["instanceId"]
    url = f"{B}/entities/{E}/attrs/speed/{instance_id}"
    patch = {"speed": {"type": "Property", "value": 121}}
    assert vehicle.patch(url, json=patch).status_code == 204
    assert vehicle.get(f"{B}/entities/{E}").json()["speed"][0]["value"] == 121
    assert vehicle.delete(url).status_code == 204
    assert vehicle.delete(url).status_code == 404
    assert [i["value"] for i in vehicle.get(f"{B}/entities/{E}").json()["speed"]] == [80]


def test_delete_attribute_and_entity(vehicle):
    fuel = f"{B}/entities/{E}/attrs/fuelLevel"
    assert vehicle.delete(fuel).status_code == 404  # no default instance
    assert vehicle.delete(fuel + "?datasetId=urn:ngsi-ld:Dataset:fuel").status_code == 204
    assert "fuelLevel" not in vehicle.get(f"{B}/entities/{E}").json()
    assert vehicle.delete(f"{B}/entities/{E}").status_code == 204
    assert vehicle.get(f"{B}/entities/{E}").status_code == 404
    assert vehicle.get(f"/ngsi-ld/v1/entities/{E}").status_code == 404


def test_append_attrs(vehicle):
    more = {"speed": [{"type": "Property", "value": 1, "observedAt": "2020-09-01T15:00:00Z"}]}
    assert vehicle.post(f"{B}/entities/{E}/attrs", json=more).status_code == 204
    assert vehicle.get(f"/ngsi-ld/v1/entities/{E}").json()["speed"]["value"] == 1
    missing = f"{B}/entities/urn:ngsi-ld:Vehicle:none/attrs"
    assert vehicle.post(missing, json=more).status_code == 404


def test_pagination_206_content_range(api):
    api.app.state.settings.__dict__["temporal_max_instances"] = 2  # settings are frozen
    try:
        assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
        more = {"speed": {"type": "Property", "value": 1, "observedAt": "2020-09-01T15:00:00Z"}}
        api.post(f"{B}/entities/{E}/attrs", json=more)
        response = api.get(f"{B}/entities/{E}?attrs=speed")
        assert response.status_code == 206
        assert response.headers["Content-Range"] == (
            "date-time 2020-09-01T12:03:00Z-2020-09-01T12:05:00Z/*"
        )
    finally:
        del api.app.state.settings.__dict__["temporal_max_instances"]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("timerel=during&timeAt=2020-01-01T00:00:00Z", "timerel must be before, after or between"),
        ("timerel=before", "timeAt is required"),
        ("timerel=between&timeAt=2020-01-01T00:00:00Z", "endTimeAt is required"),
        ("timerel=after&timeAt=yesterday", "timeAt must be an ISO 8601 date-time"),
        (
            "timerel=after&timeAt=2020-01-01T00:00:00Z&endTimeAt=2020-01-02T00:00:00Z",
            "endTimeAt is only allowed with timerel=between",
        ),
        ("options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=1H", "not an ISO 8601"),
        ("options=aggregatedValues&aggrMethods=median", "unknown aggrMethods median"),
        ("options=aggregatedValues", "needs aggrMethods"),
        ("lastN=0", "lastN must be a positive integer"),
        ("timeproperty=expiresAt", "timeproperty must be"),
    ],
)
def test_bad_parameters(vehicle, query, detail):
    response = vehicle.get(f"{B}/entities?type=Vehicle&{query}")
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"].endswith("BadRequestData")
    assert detail in problem["detail"]


def test_bad_bodies(api):
    assert api.post(f"{B}/entities", json={"type": "Vehicle"}).status_code == 400
    bad_id = {"id": "not a uri", "type": "Vehicle"}
    assert api.post(f"{B}/entities", json=bad_id).status_code == 400
    query = api.get(f"{B}/entities")
    assert query.status_code == 400
