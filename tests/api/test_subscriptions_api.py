"""NGSI-LD subscriptions over HTTP: create, retrieve, query, update, delete, and every 4xx."""

from __future__ import annotations

import pytest

SUBS = "/ngsi-ld/v1/subscriptions"
LD = "application/ld+json"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
PARKING_CONTEXT = {"OffStreetParking": "https://smartdatamodels.org/OffStreetParking"}


def _sub(**members) -> dict:
    return {
        "type": "Subscription",
        "entities": [{"type": "OffStreetParking"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
        **members,
    }


def _problem(response, status: int, kind: str, detail: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"
    assert detail in body["detail"]


def test_create_then_retrieve(api):
    created = api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:p1", q="free>3"))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{SUBS}/urn:ngsi-ld:Subscription:p1"
    got = api.get(f"{SUBS}/urn:ngsi-ld:Subscription:p1")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert CORE in got.headers["Link"]
    assert got.json() == {
        **_sub(id="urn:ngsi-ld:Subscription:p1", q="free>3"),
        "notificationTrigger": ["attributeCreated", "attributeUpdated"],
        "status": "active",
    }


def test_an_id_is_generated_and_sysattrs_are_shown_on_request(api):
    created = api.post(SUBS, json=_sub())
    location = created.headers["Location"]
    assert location.startswith(f"{SUBS}/urn:ngsi-ld:Subscription:")
    plain = api.get(location).json()
    assert "createdAt" not in plain
    with_sys = api.get(location, params={"options": "sysAttrs"}).json()
    assert with_sys["createdAt"] <= with_sys["modifiedAt"]


def test_names_follow_the_requesters_context(api):
    body = {
        **_sub(watchedAttributes=["free"]),
        "id": "urn:ngsi-ld:Subscription:ctx",
        "@context": [PARKING_CONTEXT, CORE],
    }
    assert api.post(SUBS, json=body, headers={"Content-Type": LD}).status_code == 201
    expanded = api.get(f"{SUBS}/urn:ngsi-ld:Subscription:ctx").json()
    assert expanded["entities"] == [{"type": "https://smartdatamodels.org/OffStreetParking"}]
    assert expanded["watchedAttributes"] == ["free"]  # core @vocab: a term of its own
    as_ld = api.get(f"{SUBS}/urn:ngsi-ld:Subscription:ctx", headers={"Accept": LD})
    assert as_ld.headers["content-type"] == LD and "Link" not in as_ld.headers
    assert as_ld.json()["@context"] == CORE


def test_duplicate_id_is_refused(api):
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:dup"))
    again = api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:dup"))
    _problem(again, 409, "AlreadyExists", "urn:ngsi-ld:Subscription:dup already exists")


ENDPOINT = {"uri": "http://127.0.0.1:9/notify"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "type must be 'Subscription'"),
        (_sub(id="not a uri"), "id must be a URI"),
        (_sub(id=""), "id must be a URI"),
        (_sub(type="Entity"), "type must be 'Subscription'"),
        (_sub(colour="red"), "unknown subscription member 'colour'"),
        (_sub(status="active"), "status is set by the broker"),
        (_sub(q=None), "q must not be null"),
        (_sub(entities={"type": "A"}), "entities must be a non-empty array"),
        (_sub(entities=[{"id": "urn:a:b"}]), "each entities item needs a type"),
        (_sub(entities=[{"type": "A", "idPattern": "(["}]), "idPattern is not a regular"),
        (_sub(entities=[{"type": "A", "colour": 1}]), "unknown entity selector member"),
        (_sub(watchedAttributes=[]), "watchedAttributes must be a non-empty array"),
        (_sub(notificationTrigger=["entityTouched"]), "'entityTouched' is not one of"),
        (_sub(q="free>"), "Invalid q"),
        (_sub(scopeQ="/a/("), "scopeQ"),
        (_sub(geoQ={"georel": "near", "geometry": "Point"}), "geoQ has no 'coordinates'"),
        (_sub(throttling=-30), "throttling must be a positive number"),
        (_sub(timeInterval="5"), "timeInterval must be a positive number"),
        (_sub(timeInterval=5, throttling=5), "throttling and timeInterval cannot be used"),
        (_sub(timeInterval=5, watchedAttributes=["a"]), "watchedAttributes and timeInterval"),
        (_sub(isActive="yes"), "isActive must be true or false"),
        (_sub(expiresAt="2020-01-01T00:00:00Z"), "expiresAt 2020-01-01T00:00:00Z is in the past"),
        (_sub(expiresAt="tomorrow"), "expiresAt is not a DateTime"),
        (_sub(datasetId=["not a uri"]), "datasetId must be a URI"),
        (_sub(jsonldContext="unknownContext"), "jsonldContext must be a URI"),
        ({"type": "Subscription", "notification": {"endpoint": ENDPOINT}}, "entities or watched"),
        ({"type": "Subscription", "entities": [{"type": "A"}]}, "notification is mandatory"),
        (_sub(notification={}), "notification.endpoint is mandatory"),
        (_sub(notification={"endpoint": ENDPOINT, "format": "xml"}), "notification.format"),
        (_sub(notification={"endpoint": ENDPOINT, "colour": 1}), "unknown notification member"),
        (_sub(notification={"endpoint": ENDPOINT, "timesSent": 3}), "timesSent"),
        (
            _sub(notification={"endpoint": ENDPOINT, "pick": ["id"], "omit": ["id"]}),
            "pick and notification.omit cannot be used together (both name id)",
        ),
        (
            _sub(notification={"endpoint": ENDPOINT, "pick": ["id"], "attributes": ["a"]}),
            "notification.attributes cannot be used with pick or omit",
        ),
        (
            _sub(notification={"endpoint": {"uri": "mqtt://127.0.0.1:1883"}}),
            "names no topic",
        ),
        (
            _sub(notification={"endpoint": {"uri": "file:///etc/passwd"}}),
            "only http://, https://, mqtt:// and mqtts:// endpoints",
        ),
        (_sub(notification={"endpoint": {"uri": "notify"}}), "uri must be a URI"),
        (
            _sub(notification={"endpoint": {"uri": "http://h:99999/n"}}),
            "has an invalid port",
        ),
        (
            _sub(notification={"endpoint": {**ENDPOINT, "accept": "text/xml"}}),
            "notification.endpoint.accept must be one of",
        ),
        (
            _sub(notification={"endpoint": {**ENDPOINT, "receiverInfo": [{"key": "X"}]}}),
            "each notification.endpoint.receiverInfo item",
        ),
    ],
)
def test_bad_subscriptions_are_refused_with_a_precise_reason(api, body, detail):
    _problem(api.post(SUBS, json=body), 400, "BadRequestData", detail)
    assert api.get(SUBS).json() == []


def test_transport_errors(api):
    _problem(
        api.post(SUBS, content=b'{"type": ', headers={"Content-Type": "application/json"}),
        400,
        "InvalidRequest",
        "not valid JSON",
    )
    _problem(api.post(SUBS, json=[_sub()]), 400, "BadRequestData", "must be a JSON object")
    wrong_type = api.post(SUBS, content=b"<s/>", headers={"Content-Type": "application/xml"})
    assert wrong_type.status_code == 415
    for accept in ("application/xml", "application/geo+json"):
        assert api.get(SUBS, headers={"Accept": accept}).status_code == 406
        assert api.get(f"{SUBS}/urn:a:b", headers={"Accept": accept}).status_code == 406
    patch = api.patch(f"{SUBS}/urn:a:b", content=b"{}", headers={"Content-Type": "text/plain"})
    assert patch.status_code == 415
    _problem(api.get(f"{SUBS}/not-a-uri"), 400, "BadRequestData", "subscription id")
    _problem(api.get(f"{SUBS}/urn:a:missing"), 404, "ResourceNotFound", "urn:a:missing")
    assert api.delete(f"{SUBS}/").status_code == 405


def test_unavailable_contexts_answer_503(api):
    missing = "http://127.0.0.1:9/missing-context.jsonld"
    linked = api.post(SUBS, json=_sub(), headers={"Link": f'<{missing}>; rel="{_REL}"'})
    _problem(linked, 503, "LdContextNotAvailable", missing)
    member = api.post(SUBS, json=_sub(jsonldContext=missing))
    _problem(member, 503, "LdContextNotAvailable", missing)


_REL = "http://www.w3.org/ns/json-ld#context"


def test_query_pages_and_counts(api):
    for n in range(3):
        api.post(SUBS, json=_sub(id=f"urn:ngsi-ld:Subscription:{n}"))
    page = api.get(SUBS, params={"limit": 1, "offset": 1, "count": "true"})
    assert page.status_code == 200
    assert page.headers["NGSILD-Results-Count"] == "3"
    assert [s["id"] for s in page.json()] == ["urn:ngsi-ld:Subscription:1"]
    assert f'<{SUBS}?limit=1&offset=0>;rel="prev"' in page.headers["Link"]
    assert f'<{SUBS}?limit=1&offset=2>;rel="next"' in page.headers["Link"]
    counted = api.get(SUBS, params={"limit": 0, "count": "true"})
    assert counted.json() == [] and counted.headers["NGSILD-Results-Count"] == "3"
    _problem(api.get(SUBS, params={"limit": 0}), 400, "BadRequestData", "limit=0")
    _problem(api.get(SUBS, params={"limit": 5000}), 400, "BadRequestData", "exceeds")
    _problem(api.get(SUBS, params={"offset": "-1"}), 400, "BadRequestData", "offset")


def test_update_merges_top_level_members(api):
    url = f"{SUBS}/urn:ngsi-ld:Subscription:u"
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:u", q="free>3", throttling=10))
    changed = api.patch(url, json={"isActive": False, "q": None, "throttling": 60})
    assert changed.status_code == 204, changed.text
    got = api.get(url).json()
    assert got["status"] == "paused" and got["throttling"] == 60 and "q" not in got
    merge_patch = api.patch(
        url,
        content=b'{"isActive": true}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge_patch.status_code == 204
    assert api.get(url).json()["status"] == "active"


def test_a_bad_update_changes_nothing(api):
    url = f"{SUBS}/urn:ngsi-ld:Subscription:u"
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:u"))
    before = api.get(url).json()
    notification_only = {"notification": {"format": "keyValues"}}
    _problem(api.patch(url, json=notification_only), 400, "BadRequestData", "endpoint")
    _problem(api.patch(url, json={"notification": None}), 400, "BadRequestData", "mandatory")
    past = {"expiresAt": "2020-08-01T22:07:00Z"}
    _problem(api.patch(url, json=past), 400, "BadRequestData", "in the past")
    _problem(api.patch(url, json={"timeInterval": 5, "throttling": 1}), 400, "BadRequestData", "")
    other_id = {"id": "urn:ngsi-ld:Subscription:other"}
    _problem(api.patch(url, json=other_id), 400, "BadRequestData", "differs")
    assert api.get(url).json() == before
    _problem(api.patch(f"{SUBS}/urn:a:none", json={}), 404, "ResourceNotFound", "urn:a:none")


def test_delete(api):
    url = f"{SUBS}/urn:ngsi-ld:Subscription:d"
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:d"))
    assert api.delete(url).status_code == 204
    _problem(api.delete(url), 404, "ResourceNotFound", "not found")
    _problem(api.get(url), 404, "ResourceNotFound", "not found")


def test_tenants_see_only_their_subscriptions(api):
    city_b = {"NGSILD-Tenant": "city-b"}
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:b"), headers=city_b)
    assert api.get(f"{SUBS}/urn:ngsi-ld:Subscription:b").status_code == 404
    assert api.get(SUBS).json() == []
    assert [s["id"] for s in api.get(SUBS, headers=city_b).json()] == ["urn:ngsi-ld:Subscription:b"]
    assert api.delete(f"{SUBS}/urn:ngsi-ld:Subscription:b").status_code == 404
    assert api.delete(f"{SUBS}/urn:ngsi-ld:Subscription:b", headers=city_b).status_code == 204
