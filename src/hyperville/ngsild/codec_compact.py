"""Compaction: the twin's expanded entity -> a compact NGSI-LD representation.

Formats (ETSI GS CIM 009 4.5): ``normalized`` (full objects), ``concise`` (4.5.18: ``type``
dropped where the value member reveals it, a lone value given bare), ``keyValues`` /
``simplified`` (4.5.4: attribute -> value; LanguageProperty -> ``{"languageMap": …}``,
JsonProperty -> ``{"json": …}``, VocabProperty -> ``{"vocab": …}``, ListProperty ->
``{"valueList": […]}``, ListRelationship -> ``{"objectList": [uri, …]}``; a multi-instance
attribute -> ``{"dataset": {"@none" | datasetId: value}}``). ``lang`` (4.15): a LanguageProperty
becomes a Property holding the best matching string plus a ``lang`` member (any string for
``*``); no ``lang`` keeps the languageMap. GeoJSON (4.5.16 / 6.3.15): :func:`entity_to_feature`.
"""

from __future__ import annotations

from functools import lru_cache

from hyperville.core.errors import BadRequestData
from hyperville.ngsild.codec_expand import LOCATION_IRIS, NGSILD, is_geometry
from hyperville.ngsild.context import Context

FORMATS = {"normalized": 0, "concise": 1, "keyValues": 2, "simplified": 2}
_SYS = frozenset(("createdAt", "modifiedAt", "deletedAt"))
_SCOPE_IRI = NGSILD + "scope"


@lru_cache(maxsize=256)
def parse_lang(lang: str | None) -> tuple[str, ...] | None:
    """Language ranges of a ``lang`` parameter, best first; None keeps languageMaps.

    ``*`` asks for any language (4.15): a LanguageProperty then still becomes a Property
    holding one of its strings (``@none`` if present, else the first)."""
    if lang is None:
        return None
    ranges = []
    for i, part in enumerate(lang.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranges.append((-q, i, tag.strip()))
    tags = tuple(t for _, _, t in sorted(ranges))
    return tags or None


def pick_language(lmap: dict, tags: tuple[str, ...]) -> tuple[str, object]:
    """The (language, text) of a languageMap best matching ``tags``: exact, prefix, @none, first."""
    lower = {k.lower(): k for k in lmap}
    for tag in tags:
        if tag == "*":
            break
        t = tag.lower()
        if t in lower:
            return lower[t], lmap[lower[t]]
        for low, key in lower.items():
            if low.startswith(t + "-") or t.startswith(low + "-"):
                return key, lmap[key]
    key = "@none" if "@none" in lmap else next(iter(lmap))
    return key, lmap[key]


def _sorted(instances: list[dict]) -> list[dict]:
    """The default instance (no datasetId) first, the others in stored order."""
    if len(instances) < 2 or "datasetId" not in instances[0]:
        return instances
    return sorted(instances, key=lambda i: "datasetId" in i)


def _simplified(inst: dict, ctx: Context, tags: tuple[str, ...] | None) -> object:
    t = inst["type"]
    if t == "Property" or t == "GeoProperty":
        return inst["value"]
    if t == "Relationship":
        return inst["object"]
    if t == "LanguageProperty":
        if tags is not None:
            return pick_language(inst["languageMap"], tags)[1]
        return {"languageMap": inst["languageMap"]}
    if t == "VocabProperty":
        return {"vocab": _compact_vocab(inst["vocab"], ctx)}
    if t == "JsonProperty":
        return {"json": inst["json"]}
    if t == "ListProperty":
        return {"valueList": inst["valueList"]}
    return {"objectList": [o["object"] for o in inst["objectList"]]}


def _has_dict(value: object) -> bool:
    return isinstance(value, list) and any(isinstance(x, dict) for x in value)


def _compact_vocab(v: object, ctx: Context) -> object:
    if isinstance(v, list):
        return [ctx.compact_iri(x) for x in v]
    return ctx.compact_iri(v)  # type: ignore[arg-type]


_COPY, _SYS_KEY, _VOCAB, _SKIP = range(4)
_KEY_KIND = {
    **dict.fromkeys(
        ("value", "object", "observedAt", "unitCode", "datasetId", "valueList", "objectList"),
        _COPY,
    ),
    **dict.fromkeys(("json", "lang", "languageMap"), _COPY),
    **dict.fromkeys(_SYS, _SYS_KEY),
    "vocab": _VOCAB,
    "objectType": _VOCAB,
    "type": _SKIP,
}
"""What compaction does with each reserved instance key (sub-attributes are IRIs, with ':')."""


def _instance(
    iri: str, inst: dict, ctx: Context, concise: bool, sys_attrs: bool, tags: tuple | None
) -> object:
    t = inst["type"]
    out: dict = {"type": t}
    lang_conv = tags is not None and t == "LanguageProperty"
    if lang_conv:
        out["type"] = t = "Property"
    kind_of = _KEY_KIND.get
    for k, v in inst.items():
        kind = kind_of(k)
        if kind == _COPY:
            if lang_conv and k == "languageMap":
                out["lang"], out["value"] = pick_language(v, tags)  # type: ignore[arg-type]
            else:
                out[k] = v
        elif kind is None:
            if ":" in k:
                out[ctx.compact_iri(k)] = _instance(k, v, ctx, concise, sys_attrs, tags)
            elif k[0] != "_":
                out[k] = v
        elif kind == _SYS_KEY:
            if sys_attrs:
                out[k] = v
        elif kind == _VOCAB:
            out[k] = _compact_vocab(v, ctx)
    if concise:
        if t == "Property":
            value = out.get("value")
            if isinstance(value, dict) and (is_geometry(value) and iri in LOCATION_IRIS):
                return out  # would be read back as a GeoProperty: keep the type
            del out["type"]
            if len(out) == 1 and not isinstance(value, dict) and not _has_dict(value):
                return value
        elif t == "GeoProperty":
            if len(out) == 2:
                return out["value"]
            if iri in LOCATION_IRIS:
                del out["type"]
        else:
            del out["type"]
    return out


def compact_attribute(
    iri: str,
    instances: list[dict],
    ctx: Context,
    *,
    fmt: str = "normalized",
    sys_attrs: bool = False,
    lang: str | None = None,
) -> object:
    """Compact one attribute (all its instances) in the given format."""
    mode = FORMATS.get(fmt)
    if mode is None:
        raise BadRequestData(f"unknown representation format {fmt!r}")
    return _attribute(iri, instances, ctx, mode, sys_attrs, parse_lang(lang))


def _attribute(
    iri: str, instances: list[dict], ctx: Context, mode: int, sys_attrs: bool, tags: tuple | None
) -> object:
    if mode == 2:
        if len(instances) == 1:
            return _simplified(instances[0], ctx, tags)
        return {
            "dataset": {
                i.get("datasetId", "@none"): _simplified(i, ctx, tags) for i in _sorted(instances)
            }
        }
    concise = mode == 1
    if len(instances) == 1:
        return _instance(iri, instances[0], ctx, concise, sys_attrs, tags)
    return [_instance(iri, i, ctx, concise, sys_attrs, tags) for i in _sorted(instances)]


def compact_entity(
    entity: dict,
    ctx: Context,
    *,
    fmt: str = "normalized",
    sys_attrs: bool = False,
    attrs: set[str] | None = None,
    pick: set[str] | None = None,
    omit: set[str] | None = None,
    lang: str | None = None,
) -> dict:
    """Compact an expanded entity.

    ``attrs``/``pick``/``omit`` hold expanded attribute IRIs, plus the literals ``"id"``,
    ``"type"`` (and ``"scope"``) for those members in ``pick``/``omit``.
    """
    mode = FORMATS.get(fmt)
    if mode is None:
        raise BadRequestData(f"unknown representation format {fmt!r}")
    tags = parse_lang(lang)
    out: dict = {}

    def wanted(member: str, alias: str | None = None) -> bool:
        if pick is not None and member not in pick and alias not in pick:
            return False
        return not (omit and (member in omit or alias in omit))

    if "id" in entity and wanted("id"):
        out["id"] = entity["id"]
    types = entity.get("type")
    if types and wanted("type"):
        names = [ctx.compact_iri(t) for t in types]
        out["type"] = names[0] if len(names) == 1 else names
    scope = entity.get("scope")
    if scope and wanted("scope", _SCOPE_IRI):
        out["scope"] = scope[0] if len(scope) == 1 else scope
    if sys_attrs:
        for k in ("createdAt", "modifiedAt", "deletedAt"):
            if k in entity:
                out[k] = entity[k]
    compact = ctx.compact_iri
    every = attrs is None and pick is None and not omit
    concise = mode == 1
    for iri, instances in entity.get("attrs", {}).items():
        if not every and (
            (attrs is not None and iri not in attrs)
            or (pick is not None and iri not in pick)
            or (omit and iri in omit)
        ):
            continue
        if len(instances) == 1 and mode < 2:  # the common case, without a call
            out[compact(iri)] = _instance(iri, instances[0], ctx, concise, sys_attrs, tags)
        elif instances:
            out[compact(iri)] = _attribute(iri, instances, ctx, mode, sys_attrs, tags)
    return out


def entity_to_feature(
    entity: dict, ctx: Context, *, geoproperty_iri: str, fmt: str = "normalized", **options
) -> dict:
    """A GeoJSON Feature: id, geometry from the named GeoProperty (or null), properties."""
    body = compact_entity(entity, ctx, fmt=fmt, **options)
    geometry = None
    instances = entity.get("attrs", {}).get(geoproperty_iri)
    if instances:
        inst = _sorted(instances)[0]
        if inst.get("type") == "GeoProperty":
            geometry = inst.get("value")
    body.pop("id", None)
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": body}
