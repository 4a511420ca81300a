"""Linked entity retrieval: ``join=inline|flat``, ``joinLevel``, ``containedBy`` (CIM 009 4.5.23).

With ``join``, the entities that the Relationships (and ListRelationships) of an answer point
to are retrieved too, up to ``joinLevel`` hops (default 1):

- ``inline``: each Relationship instance gets an ``entity`` member holding the linked entity
  (an array when it points to several); in the simplified (keyValues) format the target URI
  itself is replaced by the linked entity.
- ``flat``: the linked entities are appended to the answer, each once, after the entities that
  were asked for; a single-entity retrieval then answers an array (unless nothing was found).

Only Relationships kept by the projection are followed. A nested projection
(``pick=locatedAt{id,name}``, ``omit=locatedAt{name}``, see :mod:`projection`) applies to the
linked entities; a Relationship without braces brings its linked entities whole. Entities named
in ``containedBy``, and entities already on the path being followed, are not retrieved again,
which stops loops.

:func:`resolve` fetches what is needed (one store query per level, run it in a worker thread);
:func:`render` then compacts the answer from that cache without touching the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anyio

from hyperville.api.params import RenderOptions
from hyperville.api.projection import Projection, omitted, top_level
from hyperville.ngsild import codec
from hyperville.ngsild.context import Context
from hyperville.store.base import EntityQuery

Fetch = Callable[[set[str]], dict[str, dict]]


def store_fetcher(twin, tenant: str) -> Fetch:
    """Fetch entities by id through the store (one query)."""

    def fetch(ids: set[str]) -> dict[str, dict]:
        if not ids:
            return {}
        query = EntityQuery(ids=tuple(sorted(ids)), limit=len(ids))
        return {e["id"]: e for e in twin.store.query_entities(tenant, query).entities}

    return fetch


def _targets(instance: dict) -> list[str]:
    if instance.get("type") == "Relationship":
        target = instance.get("object")
        return (
            [target] if isinstance(target, str) else [t for t in target or () if isinstance(t, str)]
        )
    if instance.get("type") == "ListRelationship":
        return [o["object"] for o in instance.get("objectList", ()) if isinstance(o, dict)]
    return []


def _links(
    entity: dict, pick: Projection | None, omit: Projection | None, attrs: frozenset[str] | None
) -> Iterator[tuple[str, list[str], Projection | None, Projection | None]]:
    """(attribute IRI, target ids, projection of the targets: pick, omit) of kept Relationships."""
    for iri, instances in entity.get("attrs", {}).items():
        if attrs is not None and iri not in attrs:
            continue
        if pick is not None and iri not in pick:
            continue
        if omit is not None and iri in omit and omit[iri] is None:
            continue
        targets = [t for inst in instances for t in _targets(inst)]
        if targets:
            yield (
                iri,
                targets,
                pick.get(iri) if pick is not None else None,
                omit.get(iri) if omit is not None else None,
            )


def resolve(roots: list[dict], options: RenderOptions, fetch: Fetch) -> dict[str, dict]:
    """Every entity the answer may link to, by id (one fetch per join level)."""
    cache: dict[str, dict] = {e["id"]: e for e in roots}
    if options.join is None or options.join_level < 1:
        return cache
    frontier = [(e, options.pick_tree, options.omit_tree, options.attrs) for e in roots]
    visited: set[tuple[str, int, int]] = set()
    for _ in range(options.join_level):
        wanted: list[tuple[str, Projection | None, Projection | None]] = []
        for entity, pick, omit, attrs in frontier:
            for _iri, targets, sub_pick, sub_omit in _links(entity, pick, omit, attrs):
                for target in targets:
                    if target in options.contained_by:
                        continue
                    key = (target, id(sub_pick), id(sub_omit))
                    if key not in visited:
                        visited.add(key)
                        wanted.append((target, sub_pick, sub_omit))
        missing = {t for t, _, _ in wanted if t not in cache}
        cache.update(fetch(missing))
        frontier = [(cache[t], p, o, None) for t, p, o in wanted if t in cache]
        if not frontier:
            break
    return cache


def _compact(
    entity: dict,
    ctx: Context,
    options: RenderOptions,
    pick: Projection | None,
    omit: Projection | None,
    attrs: frozenset[str] | None,
) -> dict:
    return codec.compact_entity(
        entity,
        ctx,
        fmt=options.fmt,
        sys_attrs=options.sys_attrs,
        attrs=attrs,
        pick=top_level(pick),
        omit=omitted(omit),
        lang=options.lang,
    )


def render(
    roots: list[dict], ctx: Context, options: RenderOptions, cache: dict[str, dict]
) -> list[dict]:
    """The compacted answer: the roots (inline: with their linked entities), then for
    ``flat`` the linked entities."""
    if options.join == "inline" and options.join_level >= 1:
        top = (options.pick_tree, options.omit_tree, options.attrs)
        return [_inline(e, ctx, options, cache, top, 0, ()) for e in roots]
    out = [
        _compact(e, ctx, options, options.pick_tree, options.omit_tree, options.attrs)
        for e in roots
    ]
    if options.join != "flat" or options.join_level < 1:
        return out
    seen = {e["id"] for e in roots} | set(options.contained_by)
    frontier = [(e, options.pick_tree, options.omit_tree, options.attrs) for e in roots]
    for _ in range(options.join_level):
        next_frontier = []
        for entity, pick, omit, attrs in frontier:
            for _iri, targets, sub_pick, sub_omit in _links(entity, pick, omit, attrs):
                for target in targets:
                    if target in seen or target not in cache:
                        continue
                    seen.add(target)
                    linked = cache[target]
                    out.append(_compact(linked, ctx, options, sub_pick, sub_omit, None))
                    next_frontier.append((linked, sub_pick, sub_omit, None))
        frontier = next_frontier
    return out


def _inline(
    entity: dict,
    ctx: Context,
    options: RenderOptions,
    cache: dict[str, dict],
    projection: tuple[Projection | None, Projection | None, frozenset[str] | None],
    depth: int,
    path: tuple[str, ...],
) -> dict:
    pick, omit, attrs = projection
    out = _compact(entity, ctx, options, pick, omit, attrs)
    if depth >= options.join_level:
        return out
    path = (*path, entity["id"])
    for iri, targets, sub_pick, sub_omit in _links(entity, pick, omit, attrs):
        key = ctx.compact_iri(iri)
        if key not in out:
            continue
        embedded = {
            t: _inline(cache[t], ctx, options, cache, (sub_pick, sub_omit, None), depth + 1, path)
            for t in targets
            if t not in path and t not in options.contained_by and t in cache
        }
        if embedded:
            out[key] = _embed(out[key], embedded, options.fmt == "keyValues")
    return out


def _embed(value: object, linked: dict[str, dict], simplified: bool) -> object:
    """A compacted attribute with its linked entities inlined."""
    if isinstance(value, list):
        if simplified:  # a Relationship to several entities: [uri, ...]
            return [linked.get(v, v) if isinstance(v, str) else v for v in value]
        return [_embed(v, linked, simplified) for v in value]  # one item per instance
    if isinstance(value, str):
        return linked.get(value, value) if simplified else value
    if not isinstance(value, dict):
        return value
    if simplified:
        if "dataset" in value and isinstance(value["dataset"], dict):
            return {"dataset": {k: _embed(v, linked, True) for k, v in value["dataset"].items()}}
        if "objectList" in value:
            return {"objectList": _embed(value["objectList"], linked, True)}
        return value
    target = value.get("object")
    if isinstance(target, str) and target in linked:
        return {**value, "entity": linked[target]}
    if isinstance(target, list):
        found = [linked[t] for t in target if isinstance(t, str) and t in linked]
        return {**value, "entity": found} if found else value
    objects = value.get("objectList")
    if isinstance(objects, list):
        ids = [o.get("object") if isinstance(o, dict) else o for o in objects]
        found = [linked[t] for t in ids if isinstance(t, str) and t in linked]
        return {**value, "entity": found} if found else value
    return value


async def resolve_async(twin, tenant: str, roots: list[dict], options: RenderOptions):
    """:func:`resolve` through the store, in a worker thread; None when there is no join."""
    if options.join is None or options.join_level < 1 or not roots:
        return None
    return await anyio.to_thread.run_sync(resolve, roots, options, store_fetcher(twin, tenant))


def projects_nothing(entity: dict, options: RenderOptions) -> bool:
    """True when ``attrs`` matches no attribute of the entity, or ``pick``/``omit`` leave no
    member: a retrieval then answers 404 (CIM 009 5.7.1.4)."""
    members = {"id"} | {k for k, v in entity.get("attrs", {}).items() if v}
    if entity.get("type"):
        members.add("type")
    if entity.get("scope"):
        members.add("scope")
    if options.attrs is not None and not (members & options.attrs):
        return True
    if options.pick is not None and not (members & options.pick):
        return True
    return options.omit is not None and not (members - options.omit)


def select_datasets(entity: dict, dataset_ids: frozenset[str] | None) -> dict:
    """The entity with only the attribute instances of the given datasetIds (``@none`` is the
    default instance); attributes left with no instance are dropped (``datasetId``, 4.5.5)."""
    if dataset_ids is None:
        return entity
    attrs = {}
    for iri, instances in entity.get("attrs", {}).items():
        kept = [i for i in instances if i.get("datasetId", "@none") in dataset_ids]
        if kept:
            attrs[iri] = kept
    return {**entity, "attrs": attrs}
