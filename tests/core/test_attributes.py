"""What counts as a change of an attribute: the rule behind index maintenance and history."""

from __future__ import annotations

import pytest

from hyperville.core.attributes import changed_attributes, same_content

A = "https://example.org/a"
B = "https://example.org/b"


def _stored(**members) -> dict:
    return {
        "type": "Property",
        **members,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "modifiedAt": "2026-01-01T00:00:00.000Z",
    }


def _written(**members) -> dict:
    return {
        "type": "Property",
        **members,
        "createdAt": "2026-02-01T00:00:00.000Z",
        "modifiedAt": "2026-02-01T00:00:00.000Z",
    }


def test_system_members_are_no_content():
    assert same_content(_stored(value=1, unitCode="CEL"), _written(value=1, unitCode="CEL"))
    compound = {"street": "rue de Paris", "n": [1, 2]}
    assert same_content(_stored(value=compound), _written(value=dict(compound)))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"value": 1}, {"value": 2}),
        ({"value": 1}, {"value": True}),  # Python says 1 == True; JSON does not
        ({"value": 1}, {"value": 1.0}),
        ({"value": {"on": 1}}, {"value": {"on": True}}),
        ({"value": [0]}, {"value": [False]}),
        ({"value": 1}, {"value": 1, "unitCode": "CEL"}),
        ({"value": 1, "unitCode": "CEL"}, {"value": 1}),
        ({"value": 1, "observedAt": "2026-01-01T00:00:00Z"}, {"value": 1}),
        (
            {"value": 1, "observedAt": "2026-01-01T00:00:00Z"},
            {"value": 1, "observedAt": "2026-01-01T00:00:01Z"},
        ),
        ({"value": 1, B: {"type": "Property", "value": 1}}, {"value": 1, B: {"value": 2}}),
    ],
)
def test_any_other_member_or_json_type_is_a_change(old, new):
    assert not same_content(_stored(**old), _written(**new))


def test_changed_attributes_names_added_removed_and_changed_ones():
    kept = _stored(value=1)
    before = {A: [kept], B: [_stored(value="x")], "c": [_stored(value=0)]}
    after = {A: [kept], B: [_written(value="y")], "d": [_written(value=0)]}
    assert sorted(changed_attributes(before, after)) == sorted([B, "c", "d"])


def test_an_instance_added_or_removed_changes_its_attribute():
    one = _stored(value=1)
    two = _stored(value=2, datasetId="urn:ngsi-ld:Dataset:2")
    assert changed_attributes({A: [one]}, {A: [one, two]}) == [A]
    assert changed_attributes({A: [one, two]}, {A: [one]}) == [A]


def test_rewriting_the_same_data_changes_nothing():
    before = {A: [_stored(value=1, observedAt="2026-01-01T00:00:00Z")]}
    after = {A: [_written(value=1, observedAt="2026-01-01T00:00:00Z")]}
    assert changed_attributes(before, after) == []
