"""What a ContextSourceNotification holds (CIM 009 5.11.7), from a real ``hyperville serve``
to a real HTTP receiver: only the ``information`` items the subscription selects (the whole
registration once it no longer matches), and periodic notifications (``timeInterval``) sent
on creation and every interval, even when nothing matches."""

from __future__ import annotations

import time

import httpx

from csource_client import register as _register
from csource_client import subscribe as _subscribe

STREETLIGHT = {"entities": [{"type": "Streetlight"}]}
BUS = {"entities": [{"type": "Bus"}]}


def _delete(server, kind: str, *ids: str) -> None:
    for item_id in ids:
        assert httpx.delete(f"{server.ngsi_ld}/{kind}/{item_id}").status_code == 204


def test_only_the_matching_information_items_are_notified(server, receiver):
    sub_id = _subscribe(server, receiver.url)
    lamp = {"entities": [{"type": "Streetlight", "id": "urn:ngsi-ld:Streetlight:7"}]}
    reg_id = _register(server, information=[STREETLIGHT, BUS, lamp])
    got = receiver.next().body
    assert got["triggerReason"] == "newlyMatching" and got["data"][0]["id"] == reg_id
    assert got["data"][0]["information"] == [STREETLIGHT, lamp]  # not the Bus item

    # an update that keeps it matching: still only the matching items
    url = f"{server.ngsi_ld}/csourceRegistrations/{reg_id}"
    assert httpx.patch(url, json={"information": [BUS, STREETLIGHT]}).status_code == 204
    got = receiver.next().body
    assert got["triggerReason"] == "updated" and got["data"][0]["information"] == [STREETLIGHT]

    # no longer matching: no item matches, the registration is shown whole
    assert httpx.patch(url, json={"information": [BUS]}).status_code == 204
    got = receiver.next().body
    assert got["triggerReason"] == "noLongerMatching" and got["data"][0]["information"] == [BUS]

    # the stored registration is untouched by what notifications show
    assert httpx.get(url).json()["information"] == [BUS]
    _delete(server, "csourceRegistrations", reg_id)
    _delete(server, "csourceSubscriptions", sub_id)


def test_watched_attributes_select_the_items_too(server, receiver):
    power = {**STREETLIGHT, "propertyNames": ["powerState"]}
    light = {**STREETLIGHT, "propertyNames": ["illuminance"]}
    any_attr = {"entities": [{"type": "Streetlight"}]}
    reg_id = _register(server, information=[light, power, any_attr])
    sub_id = _subscribe(server, receiver.url, watchedAttributes=["powerState"])
    got = receiver.next().body
    assert got["data"][0]["id"] == reg_id
    assert got["data"][0]["information"] == [power, any_attr]  # no attribute named: all
    _delete(server, "csourceSubscriptions", sub_id)
    _delete(server, "csourceRegistrations", reg_id)


def test_periodic_notifications_are_sent_even_when_nothing_matches(server, receiver):
    sub_id = _subscribe(server, receiver.url, timeInterval=1)
    first = receiver.next(timeout_s=2.0).body  # on creation, not one interval later
    assert first["subscriptionId"] == sub_id and first["data"] == []
    assert "triggerReason" not in first  # nothing newly matches
    started = time.monotonic()
    second = receiver.next(timeout_s=3.0).body
    assert second["data"] == [] and time.monotonic() - started >= 0.4

    reg_id = _register(server, information=[BUS, STREETLIGHT])
    for _ in range(3):  # a registration change is no periodic notification: the next one shows it
        got = receiver.next(timeout_s=3.0).body
        if got["data"]:
            break
    assert [r["id"] for r in got["data"]] == [reg_id]
    assert got["data"][0]["information"] == [STREETLIGHT]
    assert "triggerReason" not in got

    # paused: no periodic notification at all; deleted: none either
    url = f"{server.ngsi_ld}/csourceSubscriptions/{sub_id}"
    assert httpx.patch(url, json={"isActive": False}).status_code == 204
    receiver.none_within(0.3)  # drains one that may have been on its way
    assert receiver.none_within(2.0)
    _delete(server, "csourceSubscriptions", sub_id)
    _delete(server, "csourceRegistrations", reg_id)
    assert receiver.none_within(1.5)


def test_a_subscription_on_change_sends_nothing_when_nothing_matches(server, receiver):
    sub_id = _subscribe(server, receiver.url, entities=[{"type": "Hydrant"}])
    assert receiver.none_within(1.0)
    reg_id = _register(server, information=[BUS, STREETLIGHT])
    assert receiver.none_within(0.5)
    _delete(server, "csourceRegistrations", reg_id)
    _delete(server, "csourceSubscriptions", sub_id)


def test_an_ld_json_endpoint_gets_the_context_in_the_body_and_receiver_info(server, receiver):
    endpoint = {
        "uri": receiver.url,
        "accept": "application/ld+json",
        "receiverInfo": [{"key": "X-Scada-Key", "value": "k1"}],
    }
    sub_id = _subscribe(server, receiver.url, notification={"endpoint": endpoint})
    reg_id = _register(server, information=[STREETLIGHT])
    got = receiver.next()
    assert got.headers["Content-Type"] == "application/ld+json"
    assert got.headers["X-Scada-Key"] == "k1" and "Link" not in got.headers
    assert got.body["type"] == "ContextSourceNotification" and "@context" in got.body
    assert got.body["triggerReason"] == "newlyMatching"
    assert "@context" not in got.body["data"][0]  # registrations carry none of their own
    _delete(server, "csourceRegistrations", reg_id)
    _delete(server, "csourceSubscriptions", sub_id)
