"""Matching and rendering of changes, with and without the entity as it was before."""

from __future__ import annotations

import asyncio

import pytest

from hyperville.ngsild.context import ContextResolver
from hyperville.subscriptions.delivery import AllowedHosts, render_event, request_of
from hyperville.subscriptions.matching import compile_subscription, entity_change
from hyperville.subscriptions.model import new_document

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
T0, T1 = "2026-11-25T10:00:00.000Z", "2026-11-25T10:05:00.000Z"


def _entity(stamp: str = T0, **attrs) -> dict:
    return {
        "id": "urn:ngsi-ld:OffStreetParking:p1",
        "type": [VOCAB + "OffStreetParking"],
        "createdAt": T0,
        "modifiedAt": stamp,
        "attrs": {VOCAB + name: [instance] for name, instance in attrs.items()},
    }


def _prop(value, created: str = T0, modified: str = T0, kind: str = "Property") -> dict:
    key = {"Property": "value", "LanguageProperty": "languageMap"}[kind]
    return {"type": kind, key: value, "createdAt": created, "modifiedAt": modified}


def _compiled(**members):
    ctx = ContextResolver(None, allow_remote=False).core()
    body = {
        "type": "Subscription",
        "entities": [{"type": "OffStreetParking"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
        **members,
    }
    body["notification"] = {"endpoint": {"uri": "http://127.0.0.1:9/n"}, **body["notification"]}
    return compile_subscription("", new_document(body, None), ctx, ctx)


def test_changes_from_timestamps_without_the_entity_before():
    after = _entity(T1, free=_prop(3, T0, T1), name=_prop("Gare", T0, T0), height=_prop(2, T1, T1))
    change = entity_change("update", after, None)
    assert (change.created, change.updated, change.deleted) == (
        {VOCAB + "height"},
        {VOCAB + "free"},
        set(),
    )


def test_changes_from_the_entity_before():
    before = _entity(T0, free=_prop(5), name=_prop("Gare"))
    after = _entity(T1, free=_prop(3, T0, T1), height=_prop(2, T1, T1))
    change = entity_change("update", after, before)
    assert change.created == {VOCAB + "height"}
    assert change.updated == {VOCAB + "free"}
    assert change.deleted == {VOCAB + "name"}
    assert entity_change("delete", None, before).deleted == {VOCAB + "free", VOCAB + "name"}


def test_a_dropped_dataset_instance_is_a_deletion_not_an_update():
    french = "urn:ngsi-ld:Dataset:fr"
    two = {**_prop("Gare"), "datasetId": french}
    before = _entity(T0, name=_prop("Gare"))
    before["attrs"][VOCAB + "name"].append(two)
    after = _entity(T1, name=_prop("Gare"))
    change = entity_change("update", after, before)
    assert change.dropped == {VOCAB + "name": {french}}
    assert change.updated == set() and change.deleted == set()
    assert change.removed() == {VOCAB + "name"}
    assert (
        _compiled(notificationTrigger=["attributeUpdated"]).triggered(
            "update", after["id"], after, before
        )
        is None
    )
    sub = _compiled(notificationTrigger=["attributeDeleted"], notification={"sysAttrs": True})
    fired = sub.triggered("update", after["id"], after, before)
    [shown] = render_event(sub, ("update", after["id"], after, before, fired), None)
    kept, null = shown["name"]
    assert kept["value"] == "Gare" and "datasetId" not in kept
    assert null["value"] == "urn:ngsi-ld:null" and null["datasetId"] == french
    assert null["deletedAt"] and null["createdAt"] == T0
    changed = _entity(T1, name=_prop("Gare SNCF", T0, T1))
    both = entity_change("update", changed, before)
    assert both.updated == {VOCAB + "name"} and both.dropped == {VOCAB + "name": {french}}


def test_watched_attributes_triggers_and_q():
    sub = _compiled(watchedAttributes=["free"], q="free<5")
    entity_id = "urn:ngsi-ld:OffStreetParking:p1"
    before = _entity(T0, free=_prop(8), name=_prop("Gare"))
    name_only = _entity(T1, free=_prop(8), name=_prop("Bolbec", T0, T1))
    assert sub.triggered("update", entity_id, name_only, before) is None
    too_many = _entity(T1, free=_prop(6, T0, T1), name=_prop("Gare"))
    assert sub.triggered("update", entity_id, too_many, before) is None
    few = _entity(T1, free=_prop(4, T0, T1), name=_prop("Gare"))
    assert sub.triggered("update", entity_id, few, before).updated == {VOCAB + "free"}
    other_type = {**few, "type": [VOCAB + "Streetlight"]}
    assert sub.triggered("update", entity_id, other_type, before) is None


def test_a_deletion_without_the_entity_before_matches_id_selectors_only():
    entity_id = "urn:ngsi-ld:OffStreetParking:p1"
    by_type = _compiled(notificationTrigger=["entityDeleted"])
    assert not by_type.selects(entity_id, None)
    assert by_type.selects(entity_id, frozenset({VOCAB + "OffStreetParking"}))
    by_id = _compiled(
        entities=[{"type": "OffStreetParking", "id": entity_id}],
        notificationTrigger=["entityDeleted"],
    )
    assert by_id.selects(entity_id, None)
    assert by_id.triggered("delete", entity_id, None, None) is not None
    assert by_type.triggered("delete", entity_id, None, _entity()) is not None


def test_a_deleted_entity_shows_its_attributes_with_show_changes():
    sub = _compiled(
        notificationTrigger=["entityDeleted"],
        notification={"showChanges": True, "sysAttrs": True},
    )
    before = _entity(T0, name=_prop("Gare"), street=_prop({"fr": "Gare"}, kind="LanguageProperty"))
    event = ("delete", before["id"], None, before, entity_change("delete", None, before))
    [shown] = render_event(sub, event, None)
    assert shown["type"] == "OffStreetParking" and shown["createdAt"] == T0
    assert "deletedAt" in shown
    assert shown["name"]["previousValue"] == "Gare"
    assert shown["name"]["value"] == "urn:ngsi-ld:null"
    assert shown["street"]["languageMap"] == {"@none": "urn:ngsi-ld:null"}
    assert shown["street"]["previousLanguageMap"] == {"fr": "Gare"}
    assert shown["name"]["deletedAt"] == shown["deletedAt"]


def test_show_changes_gives_previous_values_of_updated_attributes():
    sub = _compiled(notification={"showChanges": True})
    before = _entity(T0, free=_prop(8))
    after = _entity(T1, free=_prop(4, T0, T1))
    event = ("update", after["id"], after, before, entity_change("update", after, before))
    [shown] = render_event(sub, event, None)
    assert shown["free"] == {"type": "Property", "value": 4, "previousValue": 8}


def test_key_values_notification_body_and_link():
    sub = _compiled(notification={"format": "keyValues"})
    after = _entity(T1, free=_prop(4, T0, T1))
    data = render_event(
        sub, ("update", after["id"], after, None, entity_change("update", after, None)), None
    )
    body, headers = request_of(sub, data)
    assert b'"free":4' in body and b'"type":"Notification"' in body
    assert headers["Link"].startswith("<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context")


@pytest.mark.parametrize(
    ("setting", "uri", "refused"),
    [
        ("*", "http://10.0.0.1/n", False),
        ("10.20.0.0/16", "http://10.20.3.4/n", False),
        ("10.20.0.0/16", "http://10.21.0.1/n", True),
        ("scada.city.local", "http://scada.city.local:8080/n", False),
        ("scada.city.local", "http://gis.city.local/n", True),
        ("*.city.local", "http://gis.city.local/n", False),
        ("10.20.0.0/16", "http://gis.city.local/n", False),  # checked when resolved
        ("::1", "http://[::1]:8080/n", False),
    ],
)
def test_allowed_hosts_at_creation(setting, uri, refused):
    from hyperville.core.errors import BadRequestData

    allowed = AllowedHosts(setting)
    if refused:
        with pytest.raises(BadRequestData, match="not in notification_allowed_hosts"):
            allowed.check(uri)
    else:
        allowed.check(uri)


def test_allowed_hosts_at_delivery_resolve_names():
    loopback = AllowedHosts("127.0.0.0/8,::1")
    assert asyncio.run(loopback.allows("localhost"))
    assert asyncio.run(loopback.allows("127.0.0.1"))
    assert not asyncio.run(AllowedHosts("10.0.0.0/8").allows("localhost"))
    assert not asyncio.run(AllowedHosts("10.0.0.0/8").allows("no-such-host.invalid"))
