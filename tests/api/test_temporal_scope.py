"""The temporal representation of an entity's scope (CIM 009 4.5.6): every change of the
scope is an instance (a Property whose value is the scope list, observedAt = modifiedAt),
its deletion a deletion record (value ``[]``, shown with ``timeproperty=deletedAt``); and
the ``local`` flag of temporal queries."""

from __future__ import annotations

B = "/ngsi-ld/v1/temporal"
E = "urn:ngsi-ld:Vehicle:scoped"
CORE = "/ngsi-ld/v1/entities"


def _create(api, entity_id: str = E, **members) -> None:
    body = {
        "id": entity_id,
        "type": "Vehicle",
        "scope": ["/Madrid/Gardens", "/CompanyA/UnitC"],
        "speed": [{"type": "Property", "value": 80, "observedAt": "2020-08-01T12:05:00Z"}],
        **members,
    }
    body = {k: v for k, v in body.items() if v is not None}
    assert api.post(f"{B}/entities", json=body).status_code == 201


def _scope_values(api, query: str = "") -> list:
    body = api.get(f"{B}/entities/{E}?options=temporalValues{query}").json()
    return [v[0] for v in body["scope"]["values"]]


def test_scope_changes_are_instances(api):
    _create(api)
    body = api.get(f"{B}/entities/{E}").json()
    [instance] = body["scope"]
    assert instance["type"] == "Property" and instance["value"] == [
        "/Madrid/Gardens",
        "/CompanyA/UnitC",
    ]
    assert instance["observedAt"] and instance["instanceId"].startswith("urn:ngsi-ld:attribute:")
    assert [i["value"] for i in body["speed"]] == [80]

    # changed through the core API: a new instance; written again unchanged: none
    assert api.post(f"{CORE}/{E}/attrs", json={"scope": ["/Paris"]}).status_code == 204
    assert api.post(f"{CORE}/{E}/attrs", json={"scope": ["/Paris"]}).status_code == 204
    assert api.patch(f"{CORE}/{E}/attrs", json={"scope": ["/Lyon"]}).status_code == 204
    assert _scope_values(api) == [["/Madrid/Gardens", "/CompanyA/UnitC"], ["/Paris"], ["/Lyon"]]
    # the newest instance is the current scope of the entity
    assert api.get(f"{CORE}/{E}").json()["scope"] == "/Lyon"

    # a temporal POST merges its scope (5.6.11): the merged list is the new instance
    again = {"id": E, "type": "Vehicle", "scope": ["/Nice"]}
    assert api.post(f"{B}/entities", json=again).status_code == 204
    assert _scope_values(api)[-1] == ["/Lyon", "/Nice"]
    # time windows apply to it as to any attribute; with no scope instance in the window the
    # scope is shown as the entity has it now (as its id and type)
    old = api.get(f"{B}/entities/{E}?timerel=before&timeAt=2020-09-01T00:00:00Z").json()
    assert old["scope"] == ["/Lyon", "/Nice"] and [i["value"] for i in old["speed"]] == [80]


def test_deleted_scope_is_a_deletion_record(api):
    _create(api)
    assert api.delete(f"{CORE}/{E}/attrs/scope").status_code == 204
    body = api.get(f"{B}/entities/{E}?timeproperty=deletedAt").json()
    assert set(body) == {"id", "type", "scope"}  # speed was never deleted
    [record] = body["scope"]
    assert record["type"] == "Property" and record["value"] == [] and record["deletedAt"]
    simplified = api.get(f"{B}/entities/{E}?timeproperty=deletedAt&options=temporalValues")
    [[value, when]] = simplified.json()["scope"]["values"]
    assert value == [] and when == record["deletedAt"]
    # the data points stay, without the deletion record
    assert _scope_values(api) == [["/Madrid/Gardens", "/CompanyA/UnitC"]]
    # deleting a scope the entity no longer has: 404, and no second record
    assert api.delete(f"{CORE}/{E}/attrs/scope").status_code == 404
    body = api.get(f"{B}/entities/{E}?timeproperty=deletedAt").json()
    assert len(body["scope"]) == 1


def test_projection_of_the_scope(api):
    _create(api)
    picked = api.get(f"{B}/entities/{E}?pick=id,scope").json()
    assert set(picked) == {"id", "scope"} and picked["scope"][0]["type"] == "Property"
    omitted = api.get(f"{B}/entities/{E}?omit=scope").json()
    assert "scope" not in omitted and "speed" in omitted
    only_speed = api.get(f"{B}/entities/{E}?attrs=speed").json()
    # the scope's history is not read: the scope is shown as the entity has it
    assert only_speed["scope"] == ["/Madrid/Gardens", "/CompanyA/UnitC"]
    # its history can be deleted as an attribute's: the scope itself stays
    assert api.delete(f"{B}/entities/{E}/attrs/scope").status_code == 204
    assert api.get(f"{B}/entities/{E}").json()["scope"] == ["/Madrid/Gardens", "/CompanyA/UnitC"]
    assert api.delete(f"{B}/entities/{E}/attrs/scope").status_code == 404


def test_an_entity_without_scope_has_no_scope_member(api):
    _create(api, scope=None)
    body = api.get(f"{B}/entities/{E}").json()
    assert "scope" not in body and len(body["speed"]) == 1
    assert api.delete(f"{CORE}/{E}/attrs/scope").status_code == 404
    assert api.get(f"{B}/entities/{E}?timeproperty=deletedAt").json().keys() == {"id", "type"}


def test_deleting_the_entity_deletes_the_scope_history(api):
    _create(api)
    assert api.delete(f"{B}/entities/{E}").status_code == 204
    _create(api, scope=["/Other"])
    assert _scope_values(api) == [["/Other"]]


def test_local_queries_need_no_other_filter(api):
    _create(api, "urn:ngsi-ld:Vehicle:A")
    _create(api, "urn:ngsi-ld:Bus:B", type="Bus")
    window = "timerel=after&timeAt=2020-07-01T12:05:00Z"
    found = api.get(f"{B}/entities?{window}&local=true")
    assert found.status_code == 200
    assert sorted(e["id"] for e in found.json()) == ["urn:ngsi-ld:Bus:B", "urn:ngsi-ld:Vehicle:A"]
    # local narrows nothing else down: ids still do
    one = api.get(f"{B}/entities?{window}&local=true&id=urn:ngsi-ld:Vehicle:A").json()
    assert [e["id"] for e in one] == ["urn:ngsi-ld:Vehicle:A"]
    for bad in ("local=false", "local=yes", ""):
        answer = api.get(f"{B}/entities?{window}&{bad}")
        assert answer.status_code == 400, bad
        assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
