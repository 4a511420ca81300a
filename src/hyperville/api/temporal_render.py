"""Temporal entity representations: normalized, temporalValues, aggregatedValues (4.5.9,
4.5.19), compacted with the requester's @context."""

from __future__ import annotations

import math

from hyperville.api.temporal_params import TemporalOptions
from hyperville.ngsild import codec
from hyperville.ngsild.context import Context
from hyperville.store.sqlite_history import ms_to_iso

_VALUES = {
    "Property": ("value", "values"),
    "GeoProperty": ("value", "values"),
    "Relationship": ("object", "objects"),
    "LanguageProperty": ("languageMap", "languageMaps"),
    "ListProperty": ("valueList", "valueLists"),
    "ListRelationship": ("objectList", "objectLists"),
    "JsonProperty": ("json", "jsons"),
    "VocabProperty": ("vocab", "vocabs"),
}


def _head(entity: dict, ctx: Context, sys_attrs: bool) -> dict:
    out = codec.compact_entity({**entity, "attrs": {}}, ctx, sys_attrs=sys_attrs)
    return out


def _time_of(inst: dict, timeproperty: str) -> str:
    return inst.get(timeproperty) or inst["modifiedAt"]


def render(
    entity: dict, history: dict[str, list[dict]], ctx: Context, opts: TemporalOptions
) -> dict:
    """A temporal entity: the entity's id/type and its attributes' instances."""
    out = _head(entity, ctx, opts.sys_attrs)
    timeproperty = opts.history.timeproperty
    for iri, instances in history.items():
        name = ctx.compact_iri(iri)
        if opts.fmt == "temporalValues":
            out[name] = _temporal_values(instances, timeproperty)
        else:
            out[name] = [
                codec.compact_attribute(iri, [i], ctx, sys_attrs=opts.sys_attrs) for i in instances
            ]
    return out


def _temporal_values(instances: list[dict], timeproperty: str) -> object:
    by_dataset: dict[str | None, list[dict]] = {}
    for inst in instances:
        by_dataset.setdefault(inst.get("datasetId"), []).append(inst)
    rendered = []
    for dataset_id, items in by_dataset.items():
        kind = items[0]["type"]
        key, plural = _VALUES.get(kind, ("value", "values"))
        block: dict = {
            "type": kind,
            plural: [[_float(i.get(key)), _time_of(i, timeproperty)] for i in items],
        }
        if dataset_id is not None:
            block["datasetId"] = dataset_id
        rendered.append(block)
    return rendered[0] if len(rendered) == 1 else rendered


def _float(value: object) -> object:
    """Numbers of the simplified representation are doubles, as stored."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def render_aggregated(
    entity: dict, buckets: dict[str, dict[str | None, list[tuple]]], ctx: Context, opts
) -> dict:
    """An aggregated temporal entity: per attribute, ``method: [[value, start, end], …]``."""
    out = _head(entity, ctx, opts.sys_attrs)
    for iri, per_dataset in buckets.items():
        blocks = []
        for dataset_id, rows in per_dataset.items():
            block: dict = {"type": "Property"}
            for method in opts.methods:
                block[method] = [
                    [_method_value(method, row), ms_to_iso(row[0]), ms_to_iso(row[1])]
                    for row in rows
                ]
            if dataset_id is not None:
                block["datasetId"] = dataset_id
            blocks.append(block)
        out[ctx.compact_iri(iri)] = blocks[0] if len(blocks) == 1 else blocks
    return out


def _method_value(method: str, row: tuple) -> object:
    _start, _end, n, k, distinct, total, lo, hi, sq = row
    if method == "totalCount":
        return n
    if method == "distinctCount":
        return distinct
    if method == "sum":
        return total
    if method == "sumsq":
        return sq
    if method == "min":
        return lo
    if method == "max":
        return hi
    if not k or total is None:
        return None
    mean = total / k
    if method == "avg":
        return mean
    variance = max((sq or 0) / k - mean * mean, 0.0)  # population standard deviation
    return math.sqrt(variance)
