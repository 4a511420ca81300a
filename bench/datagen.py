"""Deterministic, realistic NGSI-LD entities for the benchmarks (normalized, core @context).

Entity ``i`` depends only on ``(seed, i, variant)``, never on how many entities are made, so
the wrk scripts can rebuild any id from its number: ``i % 10`` picks the type (0–5
Streetlight, 6–7 WasteContainer, 8–9 ParkingSpot, i.e. 60 % / 20 % / 20 %) and the id is
``urn:ngsi-ld:<Type>:<i>``. Keep :data:`TYPE_BY_DIGIT` in sync with ``bench/lua/common.lua``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import orjson

TYPE_BY_DIGIT = ("Streetlight",) * 6 + ("WasteContainer",) * 2 + ("ParkingSpot",) * 2

# Around Le Havre / Pays de Caux: 49.5 N, 0.6 E (a box of about 0.3 x 0.5 degrees).
LAT0, LON0 = 49.5, 0.6
WATTAGES = (35, 50, 70, 100, 150, 250)
POWER_STATES = ("on", "off", "dimmed")
POWER_WEIGHTS = (4, 4, 2)
STREETS = ("Victor Hugo", "de Paris", "Jean Jaurès", "des Drapiers")


def entity_type(i: int) -> str:
    return TYPE_BY_DIGIT[i % 10]


def entity_id(i: int) -> str:
    return f"urn:ngsi-ld:{entity_type(i)}:{i}"


def _when(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    return f"2026-11-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"


def _point(rng: random.Random) -> dict:
    lon = round(LON0 + rng.uniform(-0.25, 0.25), 6)
    lat = round(LAT0 + rng.uniform(-0.15, 0.15), 6)
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _prop(value, **extra) -> dict:
    return {"type": "Property", "value": value, **extra}


def _streetlight(i: int, rng: random.Random) -> dict:
    state = rng.choices(POWER_STATES, POWER_WEIGHTS)[0]
    observed = _when(rng)
    return {
        "powerState": _prop(state, observedAt=observed),
        "wattage": _prop(rng.choice(WATTAGES), unitCode="WTT"),
        "dimmingLevel": _prop(
            0 if state == "off" else (100 if state == "on" else rng.randint(10, 90)),
            unitCode="P1",
            observedAt=observed,
        ),
        "lanternModel": _prop(rng.choice(("LED-Urba 2", "Sodium HP 70", "LED-Axia 3"))),
        "location": _point(rng),
        "refCabinet": {
            "type": "Relationship",
            "object": f"urn:ngsi-ld:StreetlightControlCabinet:{i // 40}",
        },
        "dateLastSwitchingOn": _prop(_when(rng)),
        "address": _prop(
            {
                "streetAddress": f"{rng.randint(1, 200)} rue {rng.choice(STREETS)}",
                "addressLocality": rng.choice(("Le Havre", "Fécamp", "Bolbec", "Lillebonne")),
                "postalCode": "76600",
            }
        ),
    }


def _waste_container(i: int, rng: random.Random) -> dict:
    observed = _when(rng)
    return {
        "fillingLevel": _prop(round(rng.random(), 2), observedAt=observed),
        "temperature": _prop(round(rng.uniform(-2, 30), 1), unitCode="CEL", observedAt=observed),
        "status": _prop(rng.choices(("ok", "lidOpen", "dropped"), (90, 8, 2))[0]),
        "wasteType": _prop(rng.choice(("household", "glass", "paper", "plastic"))),
        "location": _point(rng),
        "refWasteContainerIsle": {
            "type": "Relationship",
            "object": f"urn:ngsi-ld:WasteContainerIsle:{i // 20}",
        },
        "dateLastEmptying": _prop(_when(rng)),
    }


def _parking_spot(i: int, rng: random.Random) -> dict:
    return {
        "status": _prop(
            rng.choices(("free", "occupied", "closed"), (45, 50, 5))[0], observedAt=_when(rng)
        ),
        "category": _prop(rng.choice(("onStreet", "offStreet"))),
        "width": _prop(round(rng.uniform(2.2, 2.8), 2), unitCode="MTR"),
        "length": _prop(round(rng.uniform(4.5, 5.5), 2), unitCode="MTR"),
        "location": _point(rng),
        "refParkingSite": {"type": "Relationship", "object": f"urn:ngsi-ld:ParkingSite:{i // 50}"},
    }


_BUILDERS = {
    "Streetlight": _streetlight,
    "WasteContainer": _waste_container,
    "ParkingSpot": _parking_spot,
}


def make_entity(i: int, *, seed: int = 42, variant: int = 0) -> dict:
    """Entity number ``i``; another ``variant`` gives the same id and shape, other values."""
    rng = random.Random((seed * 1_000_003 + variant) * 10_000_019 + i)
    kind = entity_type(i)
    return {"id": entity_id(i), "type": kind, **_BUILDERS[kind](i, rng)}


def batches(n: int, size: int = 1000, *, seed: int = 42) -> Iterator[bytes]:
    """The JSON bodies (arrays of ``size`` entities) that create entities 0 … n-1."""
    for start in range(0, n, size):
        yield orjson.dumps([make_entity(i, seed=seed) for i in range(start, min(n, start + size))])


def upsert_body(
    body_no: int, n: int, *, size: int = 1000, new: int = 100, seed: int = 42
) -> tuple[bytes, int]:
    """A batch-upsert body: ``size - new`` existing entities (new values) plus ``new`` new ones.

    Bodies come in pairs over the same entities with other values (``body_no`` 2k and 2k+1):
    sent in turn, every send changes the stored values, as a real update does, instead of
    writing again what the same body wrote the last time round. New entities get numbers
    ``n + (body_no // 2) * new …``: they do not exist before the first send of the pair.
    Returns (body, number of new entities).
    """
    pair = body_no // 2
    rng = random.Random(seed * 7919 + pair)
    existing = rng.sample(range(n), size - new) if n >= size - new else list(range(n))
    fresh = [n + pair * new + k for k in range(new)]
    numbers = existing + fresh
    rng.shuffle(numbers)
    body = [make_entity(i, seed=seed, variant=body_no + 1) for i in numbers]
    return orjson.dumps(body), len(fresh)


if __name__ == "__main__":  # a look at the data: python bench/datagen.py
    for i in (0, 6, 8):
        print(orjson.dumps(make_entity(i), option=orjson.OPT_INDENT_2).decode())
    sizes = [len(orjson.dumps(make_entity(i))) for i in range(1000)]
    print(f"mean entity size: {sum(sizes) / len(sizes):.0f} bytes")
