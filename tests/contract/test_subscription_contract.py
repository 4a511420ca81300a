"""Store contract: NGSI-LD subscriptions are kept per tenant, in creation order, durably."""

from __future__ import annotations


def _sub(number: int, **members) -> dict:
    return {
        "id": f"urn:ngsi-ld:Subscription:{number}",
        "type": "Subscription",
        "entities": [{"type": "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
        **members,
    }


def test_add_get_and_refuse_a_duplicate(store):
    assert store.add_subscription("", _sub(1))
    assert store.get_subscription("", "urn:ngsi-ld:Subscription:1") == _sub(1)
    assert not store.add_subscription("", _sub(1, q="x>1"))
    assert store.get_subscription("", "urn:ngsi-ld:Subscription:1") == _sub(1)


def test_put_replaces_only_an_existing_subscription(store):
    assert not store.put_subscription("", _sub(1))
    assert store.get_subscription("", "urn:ngsi-ld:Subscription:1") is None
    store.add_subscription("", _sub(1))
    assert store.put_subscription("", _sub(1, isActive=False))
    assert store.get_subscription("", "urn:ngsi-ld:Subscription:1")["isActive"] is False


def test_delete(store):
    store.add_subscription("", _sub(1))
    assert store.delete_subscription("", "urn:ngsi-ld:Subscription:1")
    assert not store.delete_subscription("", "urn:ngsi-ld:Subscription:1")
    assert store.get_subscription("", "urn:ngsi-ld:Subscription:1") is None
    assert store.subscriptions("") == []


def test_tenants_are_isolated_and_listing_keeps_creation_order(store):
    store.add_subscription("", _sub(2))
    store.add_subscription("city-b", _sub(1))
    store.add_subscription("", _sub(1))
    assert store.get_subscription("city-b", "urn:ngsi-ld:Subscription:2") is None
    assert [s["id"] for _, s in store.subscriptions("")] == [
        "urn:ngsi-ld:Subscription:2",
        "urn:ngsi-ld:Subscription:1",
    ]
    assert [t for t, _ in store.subscriptions()] == ["", "city-b", ""]
    assert not store.delete_subscription("city-b", "urn:ngsi-ld:Subscription:2")
    # a subscription creates no tenant of entities
    assert not store.tenant_exists("city-b")


def test_subscriptions_survive_reopening(make_store):
    first = make_store()
    first.add_subscription("city-b", _sub(7, watchedAttributes=["availableSpotNumber"]))
    first.close()
    again = make_store()
    assert again.subscriptions() == [("city-b", _sub(7, watchedAttributes=["availableSpotNumber"]))]
