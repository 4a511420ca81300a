"""Context source registration subscriptions over HTTP: create, retrieve, query, update,
delete, and every 4xx (their notifications: tests/subscriptions/test_csource_notifications.py)."""

from __future__ import annotations

import pytest

SUBS = "/ngsi-ld/v1/csourceSubscriptions"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ENDPOINT = {"uri": "http://127.0.0.1:9/notify"}


def _sub(**members) -> dict:
    return {
        "type": "Subscription",
        "entities": [{"type": "Streetlight"}],
        "notification": {"endpoint": ENDPOINT},
        **members,
    }


def _problem(response, status: int, kind: str, detail: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"
    assert detail in body["detail"]


def test_create_then_retrieve(api):
    when = {"timerel": "after", "timeAt": "2026-06-01T00:00:00Z"}
    created = api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:c1", temporalQ=when))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{SUBS}/urn:ngsi-ld:Subscription:c1"
    got = api.get(created.headers["Location"])
    assert got.status_code == 200 and CORE in got.headers["Link"]
    assert got.json() == {
        **_sub(id="urn:ngsi-ld:Subscription:c1", temporalQ=when),
        "status": "active",
    }
    paused = api.post(SUBS, json=_sub(isActive=False)).headers["Location"]
    assert api.get(paused).json()["status"] == "paused"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (_sub(type="RandomType"), "type must be 'Subscription'"),
        ({k: v for k, v in _sub().items() if k != "notification"}, "notification is mandatory"),
        (_sub(q="(invalid"), "q"),
        (_sub(watchedAttributes=[]), "watchedAttributes must be a non-empty array"),
        (_sub(expiresAt="2020-01-01T00:00:00Z"), "in the past"),
        (_sub(notificationTrigger=["entityCreated"]), "notificationTrigger is not a member"),
        (_sub(temporalQ={"timeAt": "2026-01-01T00:00:00Z"}), "temporalQ needs a timerel"),
        (_sub(temporalQ={"timerel": "before"}), "timeAt is required"),
        (_sub(temporalQ={"timerel": "after", "timeAt": "x", "colour": 1}), "unknown temporalQ"),
        (
            _sub(
                geoQ={
                    "georel": "near;maxDistance==1",
                    "geometry": "Point",
                    "coordinates": [0, 0],
                    "geoproperty": "here",
                }
            ),
            "geoproperty must be one of",
        ),
        (
            _sub(notification={"endpoint": {"uri": "ftp://h/n"}}),
            "only http://, https://, mqtt:// and mqtts://",
        ),
    ],
)
def test_bad_subscriptions_are_refused_with_a_precise_reason(api, body, detail):
    _problem(api.post(SUBS, json=body), 400, "BadRequestData", detail)
    assert api.get(SUBS).json() == []


def test_errors_of_transport_identity_and_existence(api):
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:dup"))
    _problem(
        api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:dup")), 409, "AlreadyExists", "dup"
    )
    assert api.post(SUBS, content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.get(SUBS, headers={"Accept": "application/geo+json"}).status_code == 406
    _problem(api.get(f"{SUBS}/not-a-uri"), 400, "BadRequestData", "subscription id")
    _problem(api.delete(f"{SUBS}/urn:a:missing"), 404, "ResourceNotFound", "urn:a:missing")
    assert api.delete(f"{SUBS}/").status_code == 405


def test_update_then_a_bad_update_changes_nothing(api):
    url = f"{SUBS}/urn:ngsi-ld:Subscription:u"
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:u"))
    assert api.patch(url, json={"isActive": False}).status_code == 204
    assert api.get(url).json()["status"] == "paused"
    # moving expiresAt to the past is allowed on update: the subscription reads expired
    past = api.patch(url, json={"isActive": True, "expiresAt": "2020-08-01T22:07:00Z"})
    assert past.status_code == 204 and api.get(url).json()["status"] == "expired"
    before = api.get(url).json()
    _problem(
        api.patch(url, json={"notification": {"format": "keyValues"}}),
        400,
        "BadRequestData",
        "endpoint",
    )
    _problem(api.patch(url, json={"type": None}), 400, "BadRequestData", "mandatory")
    _problem(
        api.patch(url, json={"temporalQ": {"timerel": "soon"}}), 400, "BadRequestData", "timerel"
    )
    assert api.get(url).json() == before
    assert api.delete(url).status_code == 204
    _problem(api.get(url), 404, "ResourceNotFound", "not found")


def test_query_pages_and_tenants(api):
    for n in range(3):
        api.post(SUBS, json=_sub(id=f"urn:ngsi-ld:Subscription:{n}"))
    api.post(SUBS, json=_sub(id="urn:ngsi-ld:Subscription:b"), headers={"NGSILD-Tenant": "city-b"})
    page = api.get(SUBS, params={"limit": 1, "offset": 1, "count": "true"})
    assert [s["id"] for s in page.json()] == ["urn:ngsi-ld:Subscription:1"]
    assert page.headers["NGSILD-Results-Count"] == "3"
    assert f'<{SUBS}?count=true&limit=1&offset=2>;rel="next"' in page.headers["Link"]
    city_b = api.get(SUBS, headers={"NGSILD-Tenant": "city-b"}).json()
    assert [s["id"] for s in city_b] == ["urn:ngsi-ld:Subscription:b"]
