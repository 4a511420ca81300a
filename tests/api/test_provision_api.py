"""Entity, attribute, batch and purge provision (CIM 009 5.6, 6.4–6.7, 6.14–6.16)."""

from __future__ import annotations

import pytest

BASE = "/ngsi-ld/v1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
NULL = "urn:ngsi-ld:null"
EID = "urn:ngsi-ld:Building:1"


def building(**attrs) -> dict:
    return {"id": EID, "type": "Building", "name": {"type": "Property", "value": "Mairie"}, **attrs}


def assert_problem(response, status: int, problem: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == ERRORS + problem


def get(api) -> dict:
    response = api.get(f"{BASE}/entities/{EID}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def made(api):
    def make(**attrs):
        assert api.post(f"{BASE}/entities", json=building(**attrs)).status_code == 201

    return make


# -- entities ------------------------------------------------------------------------------
def test_create_with_a_json_array_is_invalid_request(api):
    assert_problem(api.post(f"{BASE}/entities", json=[]), 400, "InvalidRequest")


def test_create_with_a_keyword_as_type_is_bad_request_data(api):
    response = api.post(f"{BASE}/entities", json={"id": EID, "type": "type"})
    assert_problem(response, 400, "BadRequestData")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_replace_or_merge_without_an_id_is_bad_request(api, method):
    response = api.request(method, f"{BASE}/entities/", json={"type": "Building"})
    assert_problem(response, 400, "BadRequestData")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/entities//attrs/"),
        ("PATCH", "/entities//attrs"),
        ("PATCH", "/entities//attrs/speed"),
        ("DELETE", "/entities//attrs/speed"),
    ],
)
def test_an_empty_entity_id_is_bad_request(api, method, path):
    response = api.request(method, BASE + path, json={"speed": 1})
    assert_problem(response, 400, "BadRequestData")


# -- scope and type in attribute fragments ---------------------------------------------------
def test_append_scope_replaces_it_and_no_overwrite_adds_to_it(api, made):
    made(scope="/A")
    url = f"{BASE}/entities/{EID}/attrs"
    assert api.post(url, json={"scope": "/B"}).status_code == 204
    assert get(api)["scope"] == "/B"
    assert api.post(url + "?options=noOverwrite", json={"scope": "/C"}).status_code == 204
    assert get(api)["scope"] == ["/B", "/C"]


def test_update_scope_replaces_an_existing_scope(api, made):
    made(scope="/A")
    response = api.patch(f"{BASE}/entities/{EID}/attrs", json={"scope": "/B"})
    assert response.status_code == 204
    assert get(api)["scope"] == "/B"


def test_update_scope_of_an_entity_without_scope_is_not_updated(api, made):
    made()
    response = api.patch(f"{BASE}/entities/{EID}/attrs", json={"scope": "/B"})
    assert response.status_code == 207
    assert response.json()["notUpdated"][0]["attributeName"] == "scope"
    assert "scope" not in get(api)


def test_update_attrs_adds_entity_types(api, made):
    made()
    response = api.patch(f"{BASE}/entities/{EID}/attrs", json={"type": ["Vehicle", "Building"]})
    assert response.status_code == 204
    assert get(api)["type"] == ["Building", "Vehicle"]


def test_delete_scope(api, made):
    made(scope="/A")
    assert api.delete(f"{BASE}/entities/{EID}/attrs/scope").status_code == 204
    assert "scope" not in get(api)
    assert_problem(api.delete(f"{BASE}/entities/{EID}/attrs/scope"), 404, "ResourceNotFound")


def test_replace_scope_as_an_attribute_is_bad_request(api, made):
    made(scope="/A")
    response = api.put(f"{BASE}/entities/{EID}/attrs/scope", json={"value": "/B"})
    assert_problem(response, 400, "BadRequestData")


# -- NGSI-LD Null deletes -------------------------------------------------------------------
NULLS = {
    "name": {"type": "Property", "value": NULL},
    "rel": {"type": "Relationship", "object": NULL},
    "location": {"type": "GeoProperty", "value": NULL},
    "street": {"type": "LanguageProperty", "languageMap": {"@none": NULL}},
}
ATTRS = {
    "rel": {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.3, 48.8]}},
    "street": {"type": "LanguageProperty", "languageMap": {"fr": "Rue", "en": "Street"}},
}


@pytest.mark.parametrize("attr", sorted(NULLS))
def test_update_attrs_with_ngsild_null_deletes_the_attribute(api, made, attr):
    made(**ATTRS)
    response = api.patch(f"{BASE}/entities/{EID}/attrs", json={attr: NULLS[attr]})
    assert response.status_code == 204, response.text
    assert attr not in get(api)


@pytest.mark.parametrize("attr", sorted(NULLS))
def test_partial_update_with_ngsild_null_deletes_the_attribute(api, made, attr):
    made(**ATTRS)
    response = api.patch(f"{BASE}/entities/{EID}/attrs/{attr}", json=NULLS[attr])
    assert response.status_code == 204, response.text
    assert attr not in get(api)


def test_null_with_a_dataset_id_deletes_only_that_instance(api, made):
    made()
    url = f"{BASE}/entities/{EID}/attrs"
    api.post(url, json={"name": {"value": "B", "datasetId": "urn:ds:1"}})
    response = api.patch(url, json={"name": {"value": NULL, "datasetId": "urn:ds:1"}})
    assert response.status_code == 204
    assert get(api)["name"] == {"type": "Property", "value": "Mairie"}
    response = api.patch(f"{url}/name", json={"value": NULL})
    assert response.status_code == 204
    assert "name" not in get(api)


def test_update_null_of_a_missing_attribute_is_not_updated(api, made):
    made()
    response = api.patch(f"{BASE}/entities/{EID}/attrs", json={"speed": {"value": NULL}})
    assert response.status_code == 207


# -- partial attribute update -----------------------------------------------------------------
def test_partial_update_merges_sub_attributes_and_keeps_the_value(api, made):
    made(
        parked={
            "type": "Relationship",
            "object": "urn:ngsi-ld:Parking:1",
            "by": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob"},
        }
    )
    patch = {"by": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Ann"}}
    response = api.patch(f"{BASE}/entities/{EID}/attrs/parked", json=patch)
    assert response.status_code == 204, response.text
    assert get(api)["parked"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:Parking:1",
        "by": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Ann"},
    }


def test_partial_update_with_another_attribute_type_is_bad_request(api, made):
    made()
    patch = {"type": "Relationship", "object": "urn:ngsi-ld:Entity:1"}
    response = api.patch(f"{BASE}/entities/{EID}/attrs/name", json=patch)
    assert_problem(response, 400, "BadRequestData")
    assert get(api)["name"]["value"] == "Mairie"


def test_partial_update_of_a_missing_attribute_is_not_found(api, made):
    made()
    response = api.patch(f"{BASE}/entities/{EID}/attrs/speed", json={"value": 3})
    assert_problem(response, 404, "ResourceNotFound")


# -- batches --------------------------------------------------------------------------------
def test_batch_update_no_overwrite_reports_entities_not_overwritten(api, made):
    made()
    body = [{"id": EID, "type": "Building", "name": {"value": "X"}, "floors": {"value": 3}}]
    response = api.post(f"{BASE}/entityOperations/update?options=noOverwrite", json=body)
    assert response.status_code == 207
    assert response.json()["errors"][0]["entityId"] == EID
    entity = get(api)
    assert entity["name"]["value"] == "Mairie" and entity["floors"]["value"] == 3


def test_batch_update_adds_a_type(api, made):
    made()
    body = [{"id": EID, "type": "Vehicle"}]
    assert api.post(f"{BASE}/entityOperations/update", json=body).status_code == 204
    assert get(api)["type"] == ["Building", "Vehicle"]


def test_batch_item_with_context_under_json_content_type_is_an_item_error(api):
    good = building()
    bad = {**building(), "id": "urn:ngsi-ld:Building:2", "@context": "https://x/ctx.jsonld"}
    response = api.post(f"{BASE}/entityOperations/create", json=[good, bad])
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [EID]
    assert body["errors"][0]["error"]["type"] == ERRORS + "BadRequestData"


@pytest.mark.parametrize("operation", ["update", "merge"])
def test_batch_json_null_value_is_bad_request_data(api, operation):
    body = [{"id": EID, "type": "Building", "name": {"type": "Property", "value": None}}]
    response = api.post(f"{BASE}/entityOperations/{operation}", json=body)
    assert response.status_code == 207
    assert response.json()["errors"][0]["error"]["type"] == ERRORS + "BadRequestData"


# -- purge ----------------------------------------------------------------------------------
def test_purge_drop_and_keep(api, made):
    made(floors={"value": 3}, height={"value": 30})
    url = f"{BASE}/entities"
    assert api.delete(url, params={"type": "Building", "drop": "floors"}).status_code == 204
    assert set(get(api)) >= {"name", "height"} and "floors" not in get(api)
    assert api.delete(url, params={"type": "Building", "keep": "name"}).status_code == 204
    entity = get(api)
    assert "name" in entity and "height" not in entity


def test_purge_keep_and_drop_together_is_bad_request(api, made):
    made()
    params = {"type": "Building", "keep": "name", "drop": "floors"}
    assert_problem(api.delete(f"{BASE}/entities", params=params), 400, "BadRequestData")
    assert get(api)["name"]["value"] == "Mairie"


def test_purge_local_deletes_everything_and_no_filter_is_bad_request(api, made):
    made()
    assert_problem(api.delete(f"{BASE}/entities"), 400, "BadRequestData")
    assert api.delete(f"{BASE}/entities", params={"local": "true"}).status_code == 204
    assert_problem(api.get(f"{BASE}/entities/{EID}"), 404, "ResourceNotFound")


def test_update_attrs_appends_attributes_and_instances_the_entity_lacks(api, made):
    """ETSI 011_01_03: existing attributes are updated, missing ones and missing datasetId
    instances appended, all in one 204; deleting a missing instance is still reported."""
    made()
    url = f"{BASE}/entities/{EID}/attrs"
    response = api.patch(url, json={
        "name": {"type": "Property", "value": "Hôtel de ville"},
        "height": {"type": "Property", "value": 12, "unitCode": "MTR"},
        "rel": {"type": "Relationship", "object": "urn:x:1", "datasetId": "urn:ds:a"},
    })  # fmt: skip
    assert response.status_code == 204, response.text
    stored = get(api)
    assert stored["name"]["value"] == "Hôtel de ville"
    assert stored["height"] == {"type": "Property", "value": 12, "unitCode": "MTR"}
    assert stored["rel"]["datasetId"] == "urn:ds:a"
    response = api.patch(url, json={"height": {"value": NULL, "datasetId": "urn:ds:none"}})
    assert response.status_code == 207
    not_updated = response.json()["notUpdated"]  # expanded, as the ETSI suite expects
    assert [x["attributeName"] for x in not_updated] == [
        "https://uri.etsi.org/ngsi-ld/default-context/height"
    ]
    assert get(api)["height"]["value"] == 12
