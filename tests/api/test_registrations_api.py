"""NGSI-LD context source registrations over HTTP: register, retrieve, query, update, delete,
and every 4xx. hyperville is a registry: it stores and serves registrations, it does not
forward requests to the registered sources."""

from __future__ import annotations

import pytest

REGS = "/ngsi-ld/v1/csourceRegistrations"
LD = "application/ld+json"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LIGHTING = {"Streetlight": "https://smartdatamodels.org/Streetlight"}
_REL = "http://www.w3.org/ns/json-ld#context"


def _reg(number: int | None = None, **members) -> dict:
    body = {
        "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": "Streetlight"}], "propertyNames": ["powerState"]}],
        "endpoint": "http://lighting.example:1026",
        **members,
    }
    if number is not None:
        body["id"] = f"urn:ngsi-ld:ContextSourceRegistration:{number}"
    return body


def _problem(response, status: int, kind: str, detail: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"
    assert detail in body["detail"]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"].rsplit(":", 1)[1] for r in response.json()]


def test_register_then_retrieve(api):
    created = api.post(REGS, json=_reg(1, brand="Citelum"))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:1"
    got = api.get(created.headers["Location"])
    assert got.status_code == 200
    assert CORE in got.headers["Link"]
    assert got.json() == _reg(1, brand="Citelum")
    with_sys = api.get(created.headers["Location"], params={"options": "sysAttrs"}).json()
    assert with_sys["createdAt"] == with_sys["modifiedAt"]


def test_an_id_is_generated(api):
    location = api.post(REGS, json=_reg()).headers["Location"]
    assert location.startswith(f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:")
    assert api.get(location).status_code == 200


def test_names_follow_the_requesters_context(api):
    body = {**_reg(1), "@context": [LIGHTING, CORE]}
    assert api.post(REGS, json=body, headers={"Content-Type": LD}).status_code == 201
    url = f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:1"
    core_view = api.get(url).json()
    assert core_view["information"][0]["entities"] == [
        {"type": "https://smartdatamodels.org/Streetlight"}
    ]
    link = {"Link": f'<{CORE}>; rel="{_REL}"'}
    assert api.get(url, headers=link).json()["information"][0]["propertyNames"] == ["powerState"]
    as_ld = api.get(url, headers={"Accept": LD})
    assert as_ld.headers["content-type"] == LD and as_ld.json()["@context"] == CORE
    # a query in the creation @context finds it; in the core context, Streetlight is another type
    assert api.get(REGS, params={"type": "Streetlight"}).json() == []
    expanded = api.get(REGS, params={"type": "https://smartdatamodels.org/Streetlight"})
    assert _ids(expanded) == ["1"]


def test_duplicate_id_is_refused(api):
    api.post(REGS, json=_reg(1))
    _problem(api.post(REGS, json=_reg(1)), 409, "AlreadyExists", "already exists")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "type must be 'ContextSourceRegistration'"),
        (_reg(type="Registration"), "type must be 'ContextSourceRegistration'"),
        (_reg(id="not a uri"), "id must be a URI"),
        ({**_reg(), "information": None}, "information must not be null"),
        ({k: v for k, v in _reg().items() if k != "information"}, "information is mandatory"),
        ({k: v for k, v in _reg().items() if k != "endpoint"}, "endpoint is mandatory"),
        (_reg(endpoint="lighting"), "endpoint must be a URI"),
        (_reg(information=[]), "information must be a non-empty array"),
        (_reg(information=[{}]), "information[0] needs at least one of"),
        (_reg(information=[{"entities": [{"id": "urn:a:b"}]}]), "entities[0] needs a type"),
        (_reg(information=[{"colour": 1}]), "unknown information[0] member(s): colour"),
        (
            _reg(information=[{"entities": [{"type": "A", "idPattern": "(["}]}]),
            "idPattern is not a regular expression",
        ),
        (_reg(information=[{"propertyNames": []}]), "propertyNames must be a non-empty array"),
        (_reg(mode="mirror"), "mode must be one of inclusive, exclusive, redirect, auxiliary"),
        (_reg(location={"type": "Point"}), "location is not a GeoJSON geometry"),
        (_reg(observationInterval={"endAt": "2026-01-01T00:00:00Z"}), "observationInterval must"),
        (_reg(expiresAt="2020-01-01T00:00:00Z"), "expiresAt 2020-01-01T00:00:00Z is in the past"),
        (_reg(expiresAt="soon"), "expiresAt is not a DateTime"),
        (_reg(createdAt="2026-01-01T00:00:00Z"), "createdAt is set by the broker"),
        (_reg(contextSourceInfo=[{"key": "k"}]), "each contextSourceInfo item"),
        (_reg(scope="Normandie"), "must be a text starting with '/'"),
    ],
)
def test_bad_registrations_are_refused_with_a_precise_reason(api, body, detail):
    _problem(api.post(REGS, json=body), 400, "BadRequestData", detail)
    assert api.get(REGS, params={"type": "Streetlight"}).json() == []


def test_transport_errors(api):
    bad_json = api.post(REGS, content=b'{"type": ', headers={"Content-Type": "application/json"})
    _problem(bad_json, 400, "InvalidRequest", "not valid JSON")
    _problem(api.post(REGS, json=[_reg()]), 400, "BadRequestData", "must be a JSON object")
    assert api.post(REGS, content=b"<r/>", headers={"Content-Type": "text/xml"}).status_code == 415
    for accept in ("application/xml", "application/geo+json"):
        assert api.get(REGS, headers={"Accept": accept}, params={"type": "A"}).status_code == 406
        assert api.get(f"{REGS}/urn:a:b", headers={"Accept": accept}).status_code == 406
    with_context = {**_reg(), "@context": CORE}
    _problem(api.post(REGS, json=with_context), 400, "BadRequestData", "only allowed with")
    _problem(api.get(f"{REGS}/not-a-uri"), 400, "BadRequestData", "registration id")
    _problem(api.get(f"{REGS}/urn:a:missing"), 404, "ResourceNotFound", "urn:a:missing")
    _problem(api.delete(f"{REGS}/urn:a:missing"), 404, "ResourceNotFound", "urn:a:missing")
    assert api.delete(f"{REGS}/").status_code == 405
    missing = "http://127.0.0.1:9/missing-context.jsonld"
    linked = api.post(REGS, json=_reg(), headers={"Link": f'<{missing}>; rel="{_REL}"'})
    _problem(linked, 503, "LdContextNotAvailable", missing)


def test_query_by_entities_and_attributes(api):
    api.post(REGS, json=_reg(1))
    api.post(REGS, json=_reg(2, information=[{"entities": [{"type": "Bus", "id": "urn:b:1"}]}]))
    api.post(REGS, json=_reg(3, information=[{"propertyNames": ["powerState", "brand"]}]))
    api.post(
        REGS, json=_reg(4, information=[{"entities": [{"type": "Bus", "idPattern": "^urn:b:9"}]}])
    )
    assert _ids(api.get(REGS, params={"type": "Streetlight"})) == ["1", "3"]
    assert _ids(api.get(REGS, params={"type": "Bus"})) == ["2", "3", "4"]
    assert _ids(api.get(REGS, params={"type": "Bus", "id": "urn:b:1"})) == ["2", "3"]
    assert _ids(api.get(REGS, params={"type": "Bus", "id": "urn:b:92"})) == ["3", "4"]
    assert _ids(api.get(REGS, params={"type": "Bus", "idPattern": "^urn:b:1$"})) == ["2", "3", "4"]
    assert _ids(api.get(REGS, params={"attrs": "brand"})) == ["2", "3", "4"]
    assert _ids(api.get(REGS, params={"type": "Streetlight", "attrs": "brand"})) == ["3"]
    assert _ids(api.get(REGS, params={"type": "Streetlight|Bus", "attrs": "powerState"})) == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_query_by_properties_location_and_time(api):
    api.post(
        REGS, json=_reg(1, brand="Citelum", location={"type": "Point", "coordinates": [0.5, 49.5]})
    )
    api.post(
        REGS,
        json=_reg(
            2,
            brand="Eiffage",
            observationInterval={
                "startAt": "2026-06-01T00:00:00Z",
                "endAt": "2026-07-01T00:00:00Z",
            },
        ),
    )
    assert _ids(api.get(REGS, params={"q": 'brand=="Citelum"'})) == ["1"]
    assert _ids(api.get(REGS, params={"csf": 'brand=="Eiffage"'})) == ["2"]
    near = {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": "[0.51,49.5]"}
    assert _ids(api.get(REGS, params=near)) == ["1"]
    assert api.get(REGS, params={**near, "coordinates": "[2.35,48.85]"}).json() == []
    before = {"type": "Streetlight", "timerel": "before", "timeAt": "2026-06-15T00:00:00Z"}
    assert _ids(api.get(REGS, params=before)) == ["1", "2"]  # 1 has no interval: not restricted
    after = {**before, "timerel": "after", "timeAt": "2026-07-02T00:00:00Z"}
    assert _ids(api.get(REGS, params=after)) == ["1"]
    managed = {**before, "timeproperty": "createdAt", "timeAt": "2000-01-01T00:00:00Z"}
    assert _ids(api.get(REGS, params=managed)) == ["1", "2"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "needs at least one of type, id, idPattern, attrs"),
        ({"id": "invalidUri"}, "is not a valid URI"),
        ({"q": "(invalidQuery"}, "q"),
        ({"georel": "within"}, "missing: geometry, coordinates"),
        ({"timerel": "before"}, "timeAt is required"),
        ({"type": "A", "timerel": "during", "timeAt": "2026-01-01T00:00:00Z"}, "timerel must be"),
        ({"type": "A", "timeAt": "2026-01-01T00:00:00Z"}, "need a timerel"),
        ({"type": "A", "idPattern": "(["}, "idPattern is not a valid regular expression"),
        (
            {
                "georel": "near;maxDistance==1",
                "geometry": "Point",
                "coordinates": "[0,0]",
                "geoproperty": "position",
            },
            "geoproperty must be one of location, observationSpace, operationSpace",
        ),
    ],
)
def test_bad_queries_are_refused(api, params, detail):
    _problem(api.get(REGS, params=params), 400, "BadRequestData", detail)


def test_query_pages_and_counts(api):
    for n in range(3):
        api.post(REGS, json=_reg(n))
    page = api.get(REGS, params={"type": "Streetlight", "limit": 1, "offset": 1, "count": "true"})
    assert _ids(page) == ["1"]
    assert page.headers["NGSILD-Results-Count"] == "3"
    assert (
        f'<{REGS}?type=Streetlight&count=true&limit=1&offset=0>;rel="prev"' in page.headers["Link"]
    )
    assert (
        f'<{REGS}?type=Streetlight&count=true&limit=1&offset=2>;rel="next"' in page.headers["Link"]
    )
    _problem(
        api.get(REGS, params={"type": "Streetlight", "limit": 0}), 400, "BadRequestData", "limit=0"
    )


def test_expired_registrations_are_not_served(api, monkeypatch):
    api.post(REGS, json=_reg(1, expiresAt="2099-01-01T00:00:00Z"))
    assert _ids(api.get(REGS, params={"type": "Streetlight"})) == ["1"]
    from hyperville.registrations import model

    monkeypatch.setattr(model, "expired", lambda doc, now: "expiresAt" in doc)
    assert api.get(REGS, params={"type": "Streetlight"}).json() == []


def test_update_merges_members_and_null_removes(api):
    url = f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:u"
    api.post(
        REGS, json={**_reg(), "id": url.rsplit("/", 1)[1], "expiresAt": "2099-01-01T00:00:00Z"}
    )
    changed = api.patch(
        url, json={"endpoint": "http://new.example", "expiresAt": None, "brand": "X"}
    )
    assert changed.status_code == 204, changed.text
    got = api.get(url).json()
    assert got["endpoint"] == "http://new.example" and got["brand"] == "X"
    assert "expiresAt" not in got
    merge_patch = api.patch(
        url,
        content=b'{"mode": "exclusive"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge_patch.status_code == 204 and api.get(url).json()["mode"] == "exclusive"
    assert api.patch(url, json={"brand": None}).status_code == 204
    assert "brand" not in api.get(url).json()


def test_a_bad_update_changes_nothing(api):
    url = f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:u"
    api.post(REGS, json=_reg(id=url.rsplit("/", 1)[1]))
    before = api.get(url).json()
    _problem(api.patch(url, json={"information": None}), 400, "BadRequestData", "mandatory")
    _problem(api.patch(url, json={"type": "building"}), 400, "BadRequestData", "type must be")
    _problem(api.patch(url, json={"id": "urn:a:other"}), 400, "BadRequestData", "differs")
    _problem(
        api.patch(url, json={"expiresAt": "2020-01-01T00:00:00Z"}), 400, "BadRequestData", "past"
    )
    bad_json = api.patch(url, content=b"{,}", headers={"Content-Type": "application/json"})
    _problem(bad_json, 400, "InvalidRequest", "not valid JSON")
    assert api.get(url).json() == before
    _problem(api.patch(f"{REGS}/urn:a:none", json={}), 404, "ResourceNotFound", "urn:a:none")
    assert api.patch(f"{REGS}/", json={}).status_code == 405


def test_delete_and_tenants(api):
    city_b = {"NGSILD-Tenant": "city-b"}
    api.post(REGS, json=_reg(1), headers=city_b)
    url = f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:1"
    assert api.get(url).status_code == 404
    assert api.get(REGS, params={"type": "Streetlight"}).json() == []
    assert _ids(api.get(REGS, params={"type": "Streetlight"}, headers=city_b)) == ["1"]
    assert api.delete(url).status_code == 404
    assert api.delete(url, headers=city_b).status_code == 204
    assert api.get(url, headers=city_b).status_code == 404
