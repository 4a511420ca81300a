"""Unit tests of the NGSI-LD update semantics in twin_ops (pure functions)."""

from __future__ import annotations

import copy

import pytest

from hyperville import twin_ops as ops
from hyperville.core.errors import BadRequestData, ResourceNotFound

NOW = "2026-01-01T00:00:00.000Z"
A = "https://example.org/a"
B = "https://example.org/b"
SUB = "https://example.org/sub"


def entity(**extra) -> dict:
    return {
        "id": "urn:x:1",
        "type": ["https://example.org/T"],
        "attrs": {
            A: [
                {"type": "Property", "value": 1},
                {"type": "Property", "value": 2, "datasetId": "urn:ds:1"},
            ],
            B: [
                {
                    "type": "Relationship",
                    "object": "urn:x:2",
                    SUB: {"type": "Property", "value": "old"},
                }
            ],
        },
        **extra,
    }


def test_update_with_delete_marker_removes_only_that_instance():
    e = entity()
    marker = {"type": "Property", "_delete": True, "datasetId": "urn:ds:1"}
    report = ops.append_attrs(e, {A: [marker]}, NOW)
    assert report.updated == [A] and not report.not_updated
    assert e["attrs"][A] == [{"type": "Property", "value": 1}]


def test_update_with_delete_marker_of_the_last_instance_removes_the_attribute():
    e = entity()
    marker = {"type": "Relationship", "_delete": True}
    ops.append_attrs(e, {B: [marker]}, NOW)
    assert B not in e["attrs"]


def test_update_with_delete_marker_of_a_missing_instance_is_not_updated():
    e = entity()
    marker = {"type": "Property", "_delete": True, "datasetId": "urn:ds:9"}
    report = ops.append_attrs(e, {A: [marker]}, NOW)
    assert report.not_updated and len(e["attrs"][A]) == 2


@pytest.mark.parametrize(
    ("mode", "before", "after", "updated"),
    [
        ("append", ["/a"], ["/b"], True),
        ("noOverwrite", ["/a"], ["/a", "/b"], True),
        ("update", ["/a"], ["/b"], True),
        ("update", None, None, False),
    ],
)
def test_fragment_scope(mode, before, after, updated):
    e = entity(**({"scope": before} if before else {}))
    report = ops.UpdateReport()
    ops.fragment_members(e, {"scope": ["/b"]}, report, NOW, mode=mode)
    assert e.get("scope") == after
    assert (ops.SCOPE_IRI in report.updated) is updated
    assert (report.not_updated != []) is not updated


def test_fragment_types_are_added_once():
    e = entity()
    ops.fragment_members(
        e,
        {"type": ["https://example.org/T", "https://example.org/U"]},
        ops.UpdateReport(),
        NOW,
        mode="update",
    )
    assert e["type"] == ["https://example.org/T", "https://example.org/U"]


def test_delete_scope():
    e = entity(scope=["/a"])
    ops.delete_scope(e, NOW)
    assert "scope" not in e
    with pytest.raises(ResourceNotFound):
        ops.delete_scope(e, NOW)


def test_partial_update_merges_sub_attributes_and_keeps_the_value():
    e = entity()
    patch = {"type": "Relationship", SUB: {"type": "Property", "value": "new"}}
    ops.partial_update_attr(e, B, [patch], NOW)
    instance = e["attrs"][B][0]
    assert instance["object"] == "urn:x:2" and instance[SUB]["value"] == "new"


def test_partial_update_with_another_type_is_bad_request():
    with pytest.raises(BadRequestData):
        ops.partial_update_attr(entity(), A, [{"type": "Relationship", "object": "urn:x"}], NOW)


def test_partial_update_with_delete_marker():
    e = entity()
    ops.partial_update_attr(e, B, [{"type": "Relationship", "_delete": True}], NOW)
    assert B not in e["attrs"]


def test_prune_keep_and_drop():
    e = entity()
    ops.prune_attrs(e, NOW, drop=frozenset({A}))
    assert set(e["attrs"]) == {B}
    e = entity()
    ops.prune_attrs(e, NOW, keep=frozenset({A}))
    assert set(e["attrs"]) == {A}


_EDITS = [
    lambda e: ops.append_attrs(e, {A: [{"type": "Property", "value": 9}]}, NOW),
    lambda e: ops.append_attrs(e, {B: [{"type": "Relationship", "_delete": True}]}, NOW),
    lambda e: ops.merge_attrs(e, {B: [{"type": "Relationship", SUB: {"value": "new"}}]}, NOW),
    lambda e: ops.merge_attrs(e, {A: [{"type": "Property", "_delete": True}]}, NOW),
    lambda e: ops.partial_update_attr(e, A, [{"type": "Property", "value": 5}], NOW),
    lambda e: ops.partial_update_attr(e, B, [{"type": "Relationship", "object": "urn:x:3"}], NOW),
    lambda e: ops.replace_attr(e, A, [{"type": "Property", "value": 7}], NOW),
    lambda e: ops.delete_attr(e, A, NOW, dataset_id="urn:ds:1"),
    lambda e: ops.delete_attr(e, B, NOW, delete_all=True),
    lambda e: ops.prune_attrs(e, NOW, drop=frozenset({A})),
    lambda e: ops.fragment_members(
        e, {"type": ["urn:T2"], "scope": ["/a"]}, ops.UpdateReport(), NOW, mode="append"
    ),
    lambda e: ops.merge_types(e, ["urn:T3"]),
    lambda e: ops.merge_scope(e, ["/b"]),
]


@pytest.mark.parametrize("edit", _EDITS)
def test_operations_replace_instances_and_never_edit_one_in_place(edit):
    """What twin_ops.snapshot (and so index maintenance and history) relies on."""
    e = entity(scope=["/x"])
    kept = ops.snapshot(e)
    frozen = copy.deepcopy(kept)
    edit(e)
    assert kept == frozen
