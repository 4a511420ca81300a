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


def _head(entity: dict, ctx: Context, opts: TemporalOptions) -> dict:
    out = codec.compact_entity({**entity, "attrs": {}}, ctx, sys_attrs=opts.sys_attrs)
    if opts.pick is not None or opts.omit is not None:
        for member in ("id", "type", "scope"):
            if not opts.keeps(member):
                out.pop(member, None)
    return out


def _time_of(inst: dict, timeproperty: str) -> str:
    return inst.get(timeproperty) or inst["modifiedAt"]


def render(
    entity: dict,
    history: dict[str, list[dict]],
    ctx: Context,
    opts: TemporalOptions,
    kinds: dict[str, str] | None = None,
) -> dict:
    """A temporal entity: the entity's id/type and its attributes' instances. An attribute
    with no instance left (a page cut its time range) is shown empty, of type ``kinds[iri]``.
    The scope's instances (its history, under the core scope IRI) replace the current scope
    list of the entity representation (4.5.6)."""
    out = _head(entity, ctx, opts)
    timeproperty = opts.history.timeproperty
    for iri, instances in history.items():
        name = ctx.compact_iri(iri)
        if opts.fmt == "temporalValues":
            if instances:
                out[name] = _temporal_values(iri, instances, timeproperty, ctx)
            else:
                kind = (kinds or {}).get(iri, "Property")
                out[name] = {"type": kind, _VALUES.get(kind, ("value", "values"))[1]: []}
        else:
            out[name] = [_instance(iri, i, ctx, opts.sys_attrs) for i in instances]
    return out


def _instance(iri: str, instance: dict, ctx: Context, sys_attrs: bool) -> dict:
    out = codec.compact_attribute(iri, [instance], ctx, sys_attrs=sys_attrs)
    if "deletedAt" in instance:  # a deletion record says when, sysAttrs or not
        out["deletedAt"] = instance["deletedAt"]
    return out


_WRAPPED = frozenset({"LanguageProperty", "JsonProperty", "VocabProperty"})


def _temporal_values(iri: str, instances: list[dict], timeproperty: str, ctx: Context) -> object:
    by_dataset: dict[str | None, list[dict]] = {}
    for inst in instances:
        by_dataset.setdefault(inst.get("datasetId"), []).append(inst)
    rendered = []
    for dataset_id, items in by_dataset.items():
        kind = items[0]["type"]
        key, plural = _VALUES.get(kind, ("value", "values"))
        if kind in _WRAPPED:  # [{"languageMap": {…}}, time]: the member, compacted (4.5.9)
            values = [
                [{key: codec.compact_attribute(iri, [i], ctx).get(key)}, _time_of(i, timeproperty)]
                for i in items
            ]
        else:
            values = [[_float(i.get(key)), _time_of(i, timeproperty)] for i in items]
        block: dict = {"type": kind, plural: values}
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
    out = _head(entity, ctx, opts)
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
