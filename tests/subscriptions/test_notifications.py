"""Notifications from a real ``hyperville serve`` to real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import itertools
import time

import httpx

from hyperville.testing import live_server

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_numbers = itertools.count()


def _entity(free: int = 10, **attrs) -> dict:
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:p{next(_numbers)}",
        "type": "OffStreetParking",
        "free": {"type": "Property", "value": free},
        "name": {"type": "Property", "value": "Gare de Bolbec"},
        **attrs,
    }


def _subscribe(server, uri: str, headers: dict | None = None, **members) -> str:
    body = {
        "type": "Subscription",
        "entities": [{"type": "OffStreetParking"}],
        **members,
    }
    body["notification"] = {"endpoint": {"uri": uri}, **body.get("notification", {})}
    created = httpx.post(f"{server.ngsi_ld}/subscriptions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def _create(server, entity: dict, headers: dict | None = None) -> None:
    response = httpx.post(f"{server.ngsi_ld}/entities", json=entity, headers=headers)
    assert response.status_code == 201, response.text


def _patch(server, entity_id: str, attrs: dict, headers: dict | None = None) -> None:
    url = f"{server.ngsi_ld}/entities/{entity_id}/attrs"
    response = httpx.patch(url, json=attrs, headers=headers)
    assert response.status_code == 204, response.text


def _subscription(server, sub_id: str, headers: dict | None = None) -> dict:
    return httpx.get(f"{server.ngsi_ld}/subscriptions/{sub_id}", headers=headers).json()


def _unsubscribe(server, *sub_ids: str) -> None:
    for sub_id in sub_ids:
        httpx.delete(f"{server.ngsi_ld}/subscriptions/{sub_id}")


def test_create_and_update_are_notified(server, receiver):
    sub_id = _subscribe(server, receiver.url, id="urn:ngsi-ld:Subscription:n1")
    entity = _entity()
    _create(server, entity)
    created = receiver.next()
    assert created.path == "/notify"
    assert created.headers["Content-Type"] == "application/json"
    assert created.headers["Link"].startswith(f"<{CORE}>")
    body = created.body
    assert body["type"] == "Notification" and body["subscriptionId"] == sub_id
    assert body["id"].startswith("urn:ngsi-ld:Notification:") and body["notifiedAt"]
    assert body["data"][0]["id"] == entity["id"]
    assert body["data"][0]["free"] == {"type": "Property", "value": 10}
    _patch(server, entity["id"], {"free": {"type": "Property", "value": 9}})
    assert receiver.next().body["data"][0]["free"]["value"] == 9
    shown = _subscription(server, sub_id)["notification"]
    assert shown["status"] == "ok" and shown["timesSent"] == 2
    assert shown["lastSuccess"] == shown["lastNotification"]
    _unsubscribe(server, sub_id)


def test_watched_attributes_and_q_filter_notifications(server, receiver):
    sub_id = _subscribe(server, receiver.url, watchedAttributes=["free"], q="free<5")
    entity = _entity(free=10)
    _create(server, entity)  # free=10: q does not hold
    _patch(server, entity["id"], {"free": {"type": "Property", "value": 4}})
    assert receiver.next().body["data"][0]["free"]["value"] == 4
    _patch(server, entity["id"], {"name": {"type": "Property", "value": "Gare"}})  # unwatched
    _patch(server, entity["id"], {"free": {"type": "Property", "value": 7}})  # q fails
    assert receiver.none_within(1.0)
    _unsubscribe(server, sub_id)


def test_formats_attributes_and_receiver_info(server, receiver):
    sub_id = _subscribe(
        server,
        receiver.url,
        notification={
            "format": "keyValues",
            "attributes": ["free"],
            "endpoint": {
                "uri": receiver.url,
                "accept": "application/ld+json",
                "receiverInfo": [{"key": "X-City-Key", "value": "s3cret"}],
            },
        },
    )
    entity = _entity()
    _create(server, entity)
    got = receiver.next()
    assert got.headers["Content-Type"] == "application/ld+json"
    assert "Link" not in got.headers
    assert got.headers["X-City-Key"] == "s3cret"
    assert got.body["@context"] == CORE
    assert got.body["data"] == [
        {"id": entity["id"], "type": "OffStreetParking", "free": 10, "@context": CORE}
    ]
    _unsubscribe(server, sub_id)


def test_entity_created_and_deleted_triggers(server, receiver):
    entity = _entity()
    sub_id = _subscribe(
        server,
        receiver.url,
        entities=[{"type": "OffStreetParking", "id": entity["id"]}],
        notificationTrigger=["entityCreated", "entityDeleted"],
    )
    _create(server, entity)
    assert receiver.next().body["data"][0]["id"] == entity["id"]
    _patch(server, entity["id"], {"free": {"type": "Property", "value": 1}})
    assert httpx.delete(f"{server.ngsi_ld}/entities/{entity['id']}").status_code == 204
    deleted = receiver.next().body["data"][0]
    assert deleted["id"] == entity["id"] and "deletedAt" in deleted
    assert receiver.none_within(0.5)  # the update fired neither trigger
    _unsubscribe(server, sub_id)


def test_deleting_one_dataset_instance_fires_attribute_deleted(server, receiver):
    """4.5.5: the deleted instance is notified with its datasetId and urn:ngsi-ld:null, next
    to the instances the attribute keeps (ETSI 046_22_06/07)."""
    french = "urn:ngsi-ld:Dataset:french-name"
    names = [
        {"type": "Property", "value": "Gare"},
        {"type": "Property", "value": "Gare de Bolbec", "datasetId": french},
    ]
    entity = _entity(name=names)
    watch = {"watchedAttributes": ["name"], "notificationTrigger": ["attributeDeleted"]}
    normalized = _subscribe(server, receiver.url, **watch)
    key_values = _subscribe(server, receiver.url, **watch, notification={"format": "keyValues"})
    _create(server, entity)
    _patch(server, entity["id"], {"name": {"type": "Property", "value": "Gare SNCF"}})
    assert receiver.none_within(0.5)  # an update deletes nothing
    url = f"{server.ngsi_ld}/entities/{entity['id']}/attrs/name?datasetId={french}"
    assert httpx.delete(url).status_code == 204
    got = {n.body["subscriptionId"]: n.body["data"][0] for n in (receiver.next(), receiver.next())}
    assert sorted(got[normalized]["name"], key=lambda i: "datasetId" in i) == [
        {"type": "Property", "value": "Gare SNCF"},
        {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": french},
    ]
    shown = got[key_values]["name"]
    assert shown == {"dataset": {"@none": "Gare SNCF", french: "urn:ngsi-ld:null"}}
    _unsubscribe(server, normalized, key_values)


def test_throttling_drops_notifications_inside_the_period(server, receiver):
    sub_id = _subscribe(server, receiver.url, throttling=30)
    entity = _entity()
    _create(server, entity)
    receiver.next()
    _patch(server, entity["id"], {"free": {"type": "Property", "value": 3}})
    assert receiver.none_within(1.0)
    _unsubscribe(server, sub_id)


def test_paused_and_expired_subscriptions_stay_silent(server, receiver):
    paused = _subscribe(server, receiver.url, isActive=False)
    soon = time.gmtime(time.time() + 1.5)
    expiring = _subscribe(server, receiver.url, expiresAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", soon))
    time.sleep(2.2)
    assert _subscription(server, paused)["status"] == "paused"
    assert _subscription(server, expiring)["status"] == "expired"
    _create(server, _entity())
    assert receiver.none_within(1.0)
    _unsubscribe(server, paused, expiring)


def test_a_failing_endpoint_is_counted_and_marked_failed(server):
    dead = "http://127.0.0.1:9/notify"  # discard port: nothing listens
    sub_id = _subscribe(server, dead)
    _create(server, _entity())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        shown = _subscription(server, sub_id)["notification"]
        if shown.get("timesFailed"):
            break
        time.sleep(0.1)
    assert shown["status"] == "failed" and shown["timesFailed"] == 1
    assert shown["lastFailure"] == shown["lastNotification"] and "lastSuccess" not in shown
    assert _subscription(server, sub_id)["status"] == "active"
    _unsubscribe(server, sub_id)


def test_a_slow_endpoint_delays_neither_writes_nor_other_subscribers(
    server, receiver, slow_receiver
):
    slow = _subscribe(server, slow_receiver.url)
    fast = _subscribe(server, receiver.url)
    entity = _entity()
    _create(server, entity)
    started = time.monotonic()
    for value in range(3):
        _patch(server, entity["id"], {"free": {"type": "Property", "value": value}})
        receiver.next(timeout_s=2.0)
    assert time.monotonic() - started < 2.5  # the slow one takes 3 s per notification
    assert receiver.next(timeout_s=2.0).body["subscriptionId"] == fast
    _unsubscribe(server, slow, fast)


def test_periodic_notifications(server, receiver):
    entity = _entity(free=5)
    _create(server, entity)
    sub_id = _subscribe(
        server,
        receiver.url,
        timeInterval=1,
        entities=[{"type": "OffStreetParking", "id": entity["id"]}],
    )
    first, second = receiver.next(timeout_s=3), receiver.next(timeout_s=3)
    for got in (first, second):
        assert got.body["subscriptionId"] == sub_id
        assert [e["id"] for e in got.body["data"]] == [entity["id"]]
    _unsubscribe(server, sub_id)


def test_tenants_are_notified_of_their_own_changes_only(server, receiver):
    city_b = {"NGSILD-Tenant": "city-b"}
    sub_id = _subscribe(server, receiver.url, headers=city_b)
    _create(server, _entity())  # default tenant
    assert receiver.none_within(0.7)
    entity = _entity()
    _create(server, entity, headers=city_b)
    got = receiver.next()
    assert got.headers["NGSILD-Tenant"] == "city-b"
    assert got.body["data"][0]["id"] == entity["id"]
    httpx.delete(f"{server.ngsi_ld}/subscriptions/{sub_id}", headers=city_b)


def test_subscriptions_and_counters_survive_a_restart(tmp_path, receiver):
    db = tmp_path / "twin.sqlite"
    with live_server(db) as first:
        sub_id = _subscribe(first, receiver.url, id="urn:ngsi-ld:Subscription:kept")
        _create(first, _entity())
        receiver.next()
    with live_server(db) as again:
        kept = _subscription(again, sub_id)
        assert kept["notification"]["timesSent"] == 1
        _create(again, _entity())
        assert receiver.next().body["subscriptionId"] == sub_id


def test_allowed_hosts_limit_notification_targets(tmp_path, receiver):
    env = {"HYPERVILLE_NOTIFICATION_ALLOWED_HOSTS": "10.20.0.0/16,scada.city.local"}
    with live_server(tmp_path / "twin.sqlite", env=env) as server:
        refused = httpx.post(
            f"{server.ngsi_ld}/subscriptions",
            json={
                "type": "Subscription",
                "entities": [{"type": "OffStreetParking"}],
                "notification": {"endpoint": {"uri": receiver.url}},
            },
        )
        assert refused.status_code == 400
        assert "'127.0.0.1' is not in notification_allowed_hosts" in refused.json()["detail"]
        # a name is checked when it is resolved, at delivery: localhost is 127.0.0.1
        sub_id = _subscribe(server, f"http://localhost:{receiver.port}/notify")
        _create(server, _entity())
        deadline = time.monotonic() + 5
        while not _subscription(server, sub_id)["notification"].get("timesFailed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert receiver.none_within(0.2)
