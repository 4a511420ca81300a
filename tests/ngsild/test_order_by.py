"""orderBy (CIM 009 v1.9.1, 4.23): parsing, and the order of entities."""

from __future__ import annotations

import pytest

from hyperville.core.errors import BadRequestData
from hyperville.ngsild.order_by import SortKey, parse_order_by, sort_entities

V = "https://v/"


def expand(term: str) -> str:
    return V + term


def building(n: int, name: object, sub: object = None, created: str = "") -> dict:
    attr = {"type": "Property", "value": name}
    if sub is not None:
        attr[V + "rank"] = {"type": "Property", "value": sub}
    entity = {"id": f"urn:b:{n}", "type": [V + "Building"], "attrs": {V + "name": [attr]}}
    if created:
        entity["createdAt"] = created
    return entity


def ids(entities: list[dict]) -> list[str]:
    return [e["id"] for e in entities]


def test_parse_paths_directions_and_members():
    keys = parse_order_by("type;asc, name.rank;desc,name.observedAt,id", expand)
    assert keys == (
        SortKey(("type",), False),
        SortKey((V + "name", V + "rank"), True),
        SortKey((V + "name", "observedAt"), False),
        SortKey(("id",), False),
    )


@pytest.mark.parametrize("raw", ["name;up", "name..rank", "", "id.rank", "name,;desc"])
def test_bad_order_by_is_a_bad_request(raw):
    with pytest.raises(BadRequestData):
        parse_order_by(raw, expand)


def test_sort_by_value_sub_attribute_and_several_keys():
    b = [building(2, "B", 2), building(3, "C", 1), building(1, "A", 3)]
    assert ids(sort_entities(b, parse_order_by("name", expand))) == [
        "urn:b:1",
        "urn:b:2",
        "urn:b:3",
    ]
    assert ids(sort_entities(b, parse_order_by("name;desc", expand))) == [
        "urn:b:3",
        "urn:b:2",
        "urn:b:1",
    ]
    assert ids(sort_entities(b, parse_order_by("name.rank", expand))) == [
        "urn:b:3",
        "urn:b:2",
        "urn:b:1",
    ]
    same = [building(1, "A", 1), building(2, "A", 2), building(3, "B", 0)]
    order = parse_order_by("name;asc,name.rank;desc", expand)
    assert ids(sort_entities(same, order)) == ["urn:b:2", "urn:b:1", "urn:b:3"]


def test_missing_keys_come_last_in_both_directions_and_ties_keep_their_order():
    b = [building(1, "B"), building(2, None), building(3, "A"), building(4, "A")]
    del b[1]["attrs"][V + "name"]
    assert ids(sort_entities(b, parse_order_by("name", expand))) == [
        "urn:b:3",
        "urn:b:4",
        "urn:b:1",
        "urn:b:2",
    ]
    assert ids(sort_entities(b, parse_order_by("name;desc", expand)))[-1] == "urn:b:2"


def test_mixed_value_types_do_not_fail():
    b = [building(1, "x"), building(2, 3), building(3, True), building(4, {"a": 1})]
    assert ids(sort_entities(b, parse_order_by("name", expand))) == [
        "urn:b:2",
        "urn:b:1",
        "urn:b:3",
        "urn:b:4",
    ]
