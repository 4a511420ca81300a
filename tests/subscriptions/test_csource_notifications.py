"""ContextSourceNotifications from a real ``hyperville serve`` to a real HTTP receiver: a new
or updated csource subscription gets what matches now; registration changes are notified as
newlyMatching / updated / noLongerMatching; counters are kept."""

from __future__ import annotations

import time

import httpx

from csource_client import register as _register
from csource_client import subscribe as _subscribe


def _cleanup(server, registrations: list[str], subscriptions: list[str]) -> None:
    for reg_id in registrations:
        httpx.delete(f"{server.ngsi_ld}/csourceRegistrations/{reg_id}")
    for sub_id in subscriptions:
        httpx.delete(f"{server.ngsi_ld}/csourceSubscriptions/{sub_id}")


def test_registration_changes_are_notified_with_their_reason(server, receiver):
    before = _register(server)
    sub_id = _subscribe(server, receiver.url)
    initial = receiver.next().body
    assert initial["type"] == "ContextSourceNotification"
    assert initial["subscriptionId"] == sub_id and initial["triggerReason"] == "newlyMatching"
    assert [r["id"] for r in initial["data"]] == [before]

    created = _register(server, brand="Citelum")
    got = receiver.next().body
    assert got["triggerReason"] == "newlyMatching" and got["data"][0]["id"] == created
    assert got["data"][0]["brand"] == "Citelum"

    url = f"{server.ngsi_ld}/csourceRegistrations/{created}"
    assert httpx.patch(url, json={"brand": "Eiffage"}).status_code == 204
    got = receiver.next().body
    assert got["triggerReason"] == "updated" and got["data"][0]["brand"] == "Eiffage"

    bus = {"information": [{"entities": [{"type": "Bus"}]}]}
    assert httpx.patch(url, json=bus).status_code == 204
    assert receiver.next().body["triggerReason"] == "noLongerMatching"
    assert httpx.delete(url).status_code == 204
    assert receiver.none_within(0.5)  # it no longer matched: its deletion is not notified

    assert httpx.delete(f"{server.ngsi_ld}/csourceRegistrations/{before}").status_code == 204
    got = receiver.next().body
    assert got["triggerReason"] == "noLongerMatching" and got["data"][0]["id"] == before

    shown = httpx.get(f"{server.ngsi_ld}/csourceSubscriptions/{sub_id}").json()
    assert shown["notification"]["timesSent"] == 5
    assert shown["notification"]["status"] == "ok" and "lastSuccess" in shown["notification"]
    _cleanup(server, [], [sub_id])


def test_filters_and_paused_subscriptions(server, receiver):
    sub_id = _subscribe(
        server,
        receiver.url,
        watchedAttributes=["powerState"],
        q='brand=="Citelum"',
        temporalQ={"timerel": "after", "timeAt": "2026-01-01T00:00:00Z"},
    )
    ended = {"startAt": "2025-01-01T00:00:00Z", "endAt": "2025-12-31T00:00:00Z"}
    others = [
        _register(server, brand="Eiffage"),
        _register(server, brand="Citelum", information=[{"propertyNames": ["illuminance"]}]),
        _register(server, brand="Citelum", observationInterval=ended),
    ]
    assert receiver.none_within(0.5)
    match = _register(server, brand="Citelum", information=[{"propertyNames": ["powerState"]}])
    assert receiver.next().body["data"][0]["id"] == match

    url = f"{server.ngsi_ld}/csourceSubscriptions/{sub_id}"
    assert httpx.patch(url, json={"isActive": False}).status_code == 204
    again = _register(server, brand="Citelum")
    assert receiver.none_within(0.5)
    _cleanup(server, [*others, match, again], [sub_id])


def test_failed_deliveries_are_counted(server):
    reg_id = _register(server)
    sub_id = _subscribe(server, "http://127.0.0.1:9/nobody-listens")
    url = f"{server.ngsi_ld}/csourceSubscriptions/{sub_id}"
    for _ in range(50):
        notification = httpx.get(url).json()["notification"]
        if notification.get("timesFailed"):
            break
        time.sleep(0.1)
    assert notification["status"] == "failed" and notification["timesFailed"] == 1
    assert "lastFailure" in notification and "lastSuccess" not in notification
    _cleanup(server, [reg_id], [sub_id])
