"""Registering context sources and subscribing to them on a running ``hyperville serve``,
for the csource notification tests."""

from __future__ import annotations

import itertools

import httpx

_numbers = itertools.count()


def register(server, **members) -> str:
    """A Streetlight registration (``members`` override or add to it); returns its id."""
    body = {
        "id": f"urn:ngsi-ld:ContextSourceRegistration:r{next(_numbers)}",
        "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": "Streetlight"}]}],
        "endpoint": "http://lighting.example:1026",
        **members,
    }
    created = httpx.post(f"{server.ngsi_ld}/csourceRegistrations", json=body)
    assert created.status_code == 201, created.text
    return body["id"]


def subscribe(server, uri: str, **members) -> str:
    """A csource subscription to Streetlight sources notifying ``uri``; returns its id."""
    body = {
        "type": "Subscription",
        "entities": [{"type": "Streetlight"}],
        "notification": {"endpoint": {"uri": uri}},
        **members,
    }
    created = httpx.post(f"{server.ngsi_ld}/csourceSubscriptions", json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]
