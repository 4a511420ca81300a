"""Store contract: the context source registry keeps registrations and csource subscriptions
per kind and tenant, in creation order, durably."""

from __future__ import annotations

import pytest

REG = "csourceRegistration"
SUB = "csourceSubscription"


def _reg(number: int, **members) -> dict:
    return {
        "id": f"urn:ngsi-ld:ContextSourceRegistration:{number}",
        "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": "https://smartdatamodels.org/Streetlight"}]}],
        "endpoint": "http://broker.example:1026",
        **members,
    }


def test_add_get_and_refuse_a_duplicate(store):
    assert store.add_registry_doc(REG, "", _reg(1))
    assert store.get_registry_doc(REG, "", _reg(1)["id"]) == _reg(1)
    assert not store.add_registry_doc(REG, "", _reg(1, mode="exclusive"))
    assert store.get_registry_doc(REG, "", _reg(1)["id"]) == _reg(1)


def test_put_replaces_only_an_existing_document(store):
    assert not store.put_registry_doc(REG, "", _reg(1))
    assert store.get_registry_doc(REG, "", _reg(1)["id"]) is None
    store.add_registry_doc(REG, "", _reg(1))
    assert store.put_registry_doc(REG, "", _reg(1, endpoint="http://other.example"))
    assert store.get_registry_doc(REG, "", _reg(1)["id"])["endpoint"] == "http://other.example"


def test_delete(store):
    store.add_registry_doc(REG, "", _reg(1))
    assert store.delete_registry_doc(REG, "", _reg(1)["id"])
    assert not store.delete_registry_doc(REG, "", _reg(1)["id"])
    assert store.registry_docs(REG, "") == []


def test_kinds_and_tenants_are_isolated_and_listing_keeps_creation_order(store):
    same_id = {**_reg(1), "type": "Subscription"}
    store.add_registry_doc(REG, "", _reg(2))
    store.add_registry_doc(REG, "city-b", _reg(1))
    store.add_registry_doc(REG, "", _reg(1))
    store.add_registry_doc(SUB, "", same_id)
    assert [d["id"] for _, d in store.registry_docs(REG, "")] == [_reg(2)["id"], _reg(1)["id"]]
    assert [t for t, _ in store.registry_docs(REG)] == ["", "city-b", ""]
    assert store.registry_docs(SUB) == [("", same_id)]
    assert store.get_registry_doc(REG, "city-b", _reg(2)["id"]) is None
    assert store.delete_registry_doc(SUB, "", _reg(1)["id"])
    assert store.get_registry_doc(REG, "", _reg(1)["id"]) == _reg(1)
    # neither registrations nor entity subscriptions see the other's documents
    assert store.subscriptions() == []
    assert not store.tenant_exists("city-b")


def test_an_unknown_kind_is_a_programming_error(store):
    with pytest.raises(ValueError, match="unknown registry kind"):
        store.add_registry_doc("registration", "", _reg(1))


def test_documents_survive_reopening(make_store):
    first = make_store()
    first.add_registry_doc(
        REG, "city-b", _reg(7, observationInterval={"startAt": "2026-01-01T00:00:00Z"})
    )
    first.close()
    again = make_store()
    assert again.registry_docs(REG) == [
        ("city-b", _reg(7, observationInterval={"startAt": "2026-01-01T00:00:00Z"}))
    ]
