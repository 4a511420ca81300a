"""Behaviour shared by every NGSI-LD route: errors, media types, tenants, parameters."""

from __future__ import annotations

import pytest

BASE = "/ngsi-ld/v1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def building(n: int = 1, **attrs) -> dict:
    return {
        "id": f"urn:ngsi-ld:Building:{n}",
        "type": "Building",
        "name": {"type": "Property", "value": f"Mairie {n}"},
        **attrs,
    }


def assert_problem(response, status: int, problem: str) -> dict:
    """Every error body is an RFC 7807 ProblemDetails with the NGSI-LD type (one shape)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["type"] == ERRORS + problem
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_created_entity_is_retrievable_at_its_location(api):
    created = api.post(f"{BASE}/entities", json=building())
    assert created.status_code == 201
    got = api.get(created.headers["location"])
    assert got.status_code == 200
    assert got.json()["name"] == {"type": "Property", "value": "Mairie 1"}


@pytest.mark.parametrize("path", [f"{BASE}/entities", f"{BASE}/entities/"])
def test_trailing_slash_answers_without_redirect(api, path):
    api.post(f"{BASE}/entities", json=building())
    response = api.get(path, params={"type": "Building"}, follow_redirects=False)
    assert response.status_code == 200 and len(response.json()) == 1


def test_invalid_json_is_invalid_request(api):
    response = api.post(
        f"{BASE}/entities", content=b'{"id": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "InvalidRequest")
    assert "not valid JSON" in body["detail"]


def test_unsupported_content_type_is_415(api):
    response = api.post(
        f"{BASE}/entities", content=b"<xml/>", headers={"content-type": "application/xml"}
    )
    assert_problem(response, 415, "InvalidRequest")


def test_oversized_body_is_413_and_nothing_is_written(api):
    huge = building(description={"type": "Property", "value": "x" * 70_000})
    assert_problem(api.post(f"{BASE}/entities", json=huge), 413, "BadRequestData")
    assert api.get(f"{BASE}/entities", params={"type": "Building"}).json() == []


def test_unknown_query_parameter_is_invalid_request(api):
    response = api.get(f"{BASE}/entities", params={"tpye": "Building"})
    body = assert_problem(response, 400, "InvalidRequest")
    assert "tpye" in body["detail"]


def test_not_acceptable_media_type(api):
    response = api.get(
        f"{BASE}/entities", params={"type": "Building"}, headers={"accept": "text/csv"}
    )
    assert_problem(response, 406, "InvalidRequest")


def test_unknown_route_is_problem_details(api):
    assert_problem(api.get(f"{BASE}/nothing-here"), 404, "ResourceNotFound")


def test_missing_entity_is_resource_not_found(api):
    assert_problem(api.get(f"{BASE}/entities/urn:ngsi-ld:Building:404"), 404, "ResourceNotFound")


def test_bad_entity_id_in_path_is_bad_request(api):
    assert_problem(api.get(f"{BASE}/entities/not a uri"), 400, "BadRequestData")


def test_bad_q_names_the_problem(api):
    response = api.get(f"{BASE}/entities", params={"type": "Building", "q": "name=="})
    body = assert_problem(response, 400, "BadRequestData")
    assert "q" in body["detail"]


def test_ld_json_body_without_context_is_rejected(api):
    response = api.post(
        f"{BASE}/entities", json=building(), headers={"content-type": "application/ld+json"}
    )
    assert_problem(response, 400, "BadRequestData")


def test_json_body_with_context_is_rejected(api):
    body = {**building(), "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}
    assert_problem(api.post(f"{BASE}/entities", json=body), 400, "BadRequestData")


def test_unreachable_context_is_ld_context_not_available(api):
    link = '<http://127.0.0.1:9/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"'
    response = api.get(f"{BASE}/entities", params={"type": "Building"}, headers={"link": link})
    assert_problem(response, 503, "LdContextNotAvailable")


def test_tenants_are_isolated_and_created_on_first_write(api):
    port = {"NGSILD-Tenant": "port"}
    assert_problem(
        api.get(f"{BASE}/entities", params={"type": "Building"}, headers=port),
        404,
        "NonexistentTenant",
    )
    assert api.post(f"{BASE}/entities", json=building(1), headers=port).status_code == 201
    assert api.post(f"{BASE}/entities", json=building(2)).status_code == 201
    in_port = api.get(f"{BASE}/entities", params={"type": "Building"}, headers=port).json()
    assert [e["id"] for e in in_port] == ["urn:ngsi-ld:Building:1"]
    default = api.get(f"{BASE}/entities", params={"type": "Building"}).json()
    assert [e["id"] for e in default] == ["urn:ngsi-ld:Building:2"]
    assert_problem(
        api.get(f"{BASE}/entities/urn:ngsi-ld:Building:2", headers=port), 404, "ResourceNotFound"
    )


def test_invalid_tenant_name_is_bad_request(api):
    response = api.get(
        f"{BASE}/entities", params={"type": "Building"}, headers={"NGSILD-Tenant": "bad tenant!"}
    )
    assert_problem(response, 400, "BadRequestData")


def test_count_header(api):
    for n in range(5):
        api.post(f"{BASE}/entities", json=building(n))
    response = api.get(
        f"{BASE}/entities", params={"type": "Building", "count": "true", "limit": "2"}
    )
    assert response.headers["NGSILD-Results-Count"] == "5"
    assert len(response.json()) == 2


def test_limit_over_maximum_is_rejected(api):
    response = api.get(f"{BASE}/entities", params={"type": "Building", "limit": "100000"})
    assert_problem(response, 400, "BadRequestData")


def test_query_needs_a_filter(api):
    assert_problem(api.get(f"{BASE}/entities"), 400, "BadRequestData")


def test_failed_batch_item_does_not_block_the_others(api):
    items = [building(1), {"id": "not-a-uri", "type": "Building"}, building(2)]
    response = api.post(f"{BASE}/entityOperations/create", json=items)
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == ["urn:ngsi-ld:Building:1", "urn:ngsi-ld:Building:2"]
    assert len(body["errors"]) == 1
    assert body["errors"][0]["error"]["type"] == ERRORS + "BadRequestData"


def test_discovery_lists_types_and_attributes(api):
    api.post(f"{BASE}/entities", json=building(1, height={"type": "Property", "value": 12}))
    types = api.get(f"{BASE}/types").json()
    assert types["typeList"] == ["Building"]
    info = api.get(f"{BASE}/types/Building").json()
    assert info["entityCount"] == 1
    assert {a["attributeName"] for a in info["attributeDetails"]} == {"name", "height"}
    attribute = api.get(f"{BASE}/attributes/height").json()
    assert attribute["attributeCount"] == 1 and attribute["typeNames"] == ["Building"]
    assert_problem(api.get(f"{BASE}/types/Nope"), 404, "ResourceNotFound")


def test_home_page_in_french_then_english(api):
    api.post(f"{BASE}/entities", json=building(1))
    page = api.get("/about")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="fr"' in page.text and "Le jumeau contient 1 entités" in page.text
    assert "<td>Building</td>" in page.text
    english = api.get("/about", params={"lang": "en"})
    assert "The twin holds 1 entities" in english.text
