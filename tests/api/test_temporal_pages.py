"""The temporal API: time-range pagination, pick/omit, deletion records, several selectors."""

from __future__ import annotations

import pytest

B = "/ngsi-ld/v1/temporal"
E = "urn:ngsi-ld:Vehicle:p1"


def _vehicle(entity_id: str = E, hour: int = 12) -> dict:
    return {
        "id": entity_id,
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 120, "observedAt": f"2020-09-01T{hour}:03:00Z"},
            {"type": "Property", "value": 80, "observedAt": f"2020-09-01T{hour}:05:00Z"},
            {"type": "Property", "value": 1, "observedAt": f"2020-09-01T{hour + 3}:00:00Z"},
        ],
        "fuelLevel": [
            {"type": "Property", "value": 40, "observedAt": f"2020-09-01T{hour + 2}:07:00Z"}
        ],
    }


@pytest.fixture
def paged(api):
    api.app.state.settings.__dict__["temporal_max_instances"] = 2  # settings are frozen
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    yield api
    del api.app.state.settings.__dict__["temporal_max_instances"]


def test_a_cut_attribute_cuts_the_time_range_of_every_attribute(paged):
    response = paged.get(f"{B}/entities/{E}")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        "date-time 2020-09-01T12:03:00Z-2020-09-01T12:05:00Z/*"
    )
    body = response.json()
    assert [i["value"] for i in body["speed"]] == [120, 80]
    assert body["fuelLevel"] == []  # observed after the cut: the next page has it
    values = paged.get(f"{B}/entities/{E}?options=temporalValues").json()
    assert values["fuelLevel"] == {"type": "Property", "values": []}


def test_last_n_pages_go_back_in_time(paged):
    response = paged.get(f"{B}/entities/{E}?lastN=5")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        "date-time 2020-09-01T15:00:00Z-2020-09-01T12:05:00Z/5"
    )
    body = response.json()
    assert [i["value"] for i in body["speed"]] == [80, 1]
    assert [i["value"] for i in body["fuelLevel"]] == [40]
    bounded = paged.get(f"{B}/entities/{E}?lastN=5&timerel=before&timeAt=2020-09-02T00:00:00Z")
    assert bounded.headers["Content-Range"].startswith("date-time 2020-09-02T00:00:00Z-")
    assert paged.get(f"{B}/entities/{E}?lastN=2").status_code == 200  # lastN is the limit


def test_pick_and_omit(api):
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    assert set(api.get(f"{B}/entities/{E}?pick=speed").json()) == {"speed"}
    assert set(api.get(f"{B}/entities/{E}?pick=id,fuelLevel").json()) == {"id", "fuelLevel"}
    assert set(api.get(f"{B}/entities/{E}?omit=type,speed").json()) == {"id", "fuelLevel"}
    assert api.get(f"{B}/entities/{E}?pick=speed&omit=type").status_code == 400
    assert api.get(f"{B}/entities/{E}?attrs=speed&pick=id").status_code == 400
    assert api.get(f"{B}/entities/{E}?pick=unknown").status_code == 404
    found = api.get(f"{B}/entities?type=Vehicle&pick=fuelLevel").json()
    assert [set(e) for e in found] == [{"fuelLevel"}]


def test_deleted_attributes_leave_a_deletion_record(api):
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    assert api.delete(f"/ngsi-ld/v1/entities/{E}/attrs/fuelLevel").status_code == 204
    deleted = api.get(f"{B}/entities/{E}?timeproperty=deletedAt").json()
    assert set(deleted) == {"id", "type", "fuelLevel"}
    (record,) = deleted["fuelLevel"]
    assert record["value"] == "urn:ngsi-ld:null" and record["deletedAt"].endswith("Z")
    values = api.get(f"{B}/entities/{E}?timeproperty=deletedAt&options=temporalValues").json()
    assert values["fuelLevel"]["values"][0][0] == "urn:ngsi-ld:null"
    # the other time properties show the data points only; aggregates do not count the record
    assert [i["value"] for i in api.get(f"{B}/entities/{E}").json()["fuelLevel"]] == [40]
    count = api.get(
        f"{B}/entities/{E}?options=aggregatedValues&aggrMethods=totalCount&attrs=fuelLevel"
    ).json()
    assert count["fuelLevel"]["totalCount"][0][0] == 1


def test_several_entity_selectors_and_the_time_window(api):
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    bus = {**_vehicle("urn:ngsi-ld:Bus:p2", hour=10), "type": "Bus"}
    assert api.post(f"{B}/entities", json=bus).status_code == 201
    query = {"type": "Query", "entities": [{"type": "Vehicle"}, {"type": "Bus"}]}
    both = api.post(f"{B}/entityOperations/query", json=query).json()
    assert sorted(e["id"] for e in both) == ["urn:ngsi-ld:Bus:p2", E]
    # an entity with nothing in the time window is not part of the answer
    query["temporalQ"] = {"timerel": "after", "timeAt": "2020-09-01T14:30:00Z"}
    later = api.post(f"{B}/entityOperations/query", json=query).json()
    assert [e["id"] for e in later] == [E]


def test_format_wins_over_options(api):
    assert api.post(f"{B}/entities", json=_vehicle()).status_code == 201
    body = api.get(
        f"{B}/entities?type=Vehicle&format=temporalValues&options=aggregatedValues&aggrMethods=sum"
    ).json()
    assert "values" in body[0]["speed"]
    bad = api.get(f"{B}/entities?type=Vehicle&format=fancy")
    assert bad.status_code == 400 and bad.json()["type"].endswith("InvalidRequest")
