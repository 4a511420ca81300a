"""Import GIS layers into the twin: features → compact NGSI-LD → expanded → ``Twin.batch``.

All or nothing per layer: every feature of a layer is read, converted and validated first
(broken geometry, missing or duplicate id, a mapped field absent from the layer, a value that
does not convert, an entity the codec refuses); if anything is wrong, nothing of that layer is
written and every problem is reported with the file, layer, row (1-based feature index) and
field. Other layers of the mapping are still imported.

Re-imports are idempotent. Each imported entity carries a ``source`` Property whose
``dataset`` sub-attribute names the layer's dataset; an entity is

- *added* when the twin does not have it;
- *changed* when one of the attributes the mapping manages differs: only those attributes
  are written (an upsert in update mode), so attributes that other writers add — live sensor
  values, say — are kept, and the twin's history records the old values;
- *unchanged* otherwise (nothing is written);
- *removed* when the twin has it for this dataset and type but the file no longer does:
  deleted (``on_removed: delete``, the default) or kept with a ``removedFromSource`` Property
  holding the import date (``on_removed: mark``; it goes away if the feature comes back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
import shapely

from hyperville.core.errors import HypervilleError
from hyperville.gis import convert as cv
from hyperville.gis.mapping import LayerMap, Mapping
from hyperville.gis.readers import LayerData, LayerError, Problem, read_layer
from hyperville.ngsild.codec import expand_entity
from hyperville.ngsild.context import Context, ContextResolver
from hyperville.store.base import DEFAULT_TENANT, EntityQuery
from hyperville.twin import Twin
from hyperville.twin_ops import DELETE_MARK, now_iso

CHUNK = 1000
PAGE = 5000
MAX_MESSAGES = 50
SOURCE = "source"
DATASET = "sourceDataset"
REMOVED = "removedFromSource"
_SYSTEM = ("createdAt", "modifiedAt")

Progress = Callable[[str, str, int, int], None]
"""progress(dataset, phase, done, total); phase is "check", "write" or "done"."""


@dataclass
class LayerOutcome:
    """What an import did to one layer."""

    dataset: str
    file: str
    layer: str
    type: str
    features: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    source_crs: str | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    """Per-layer outcomes of one import."""

    layers: list[LayerOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "layers": [{**asdict(x), "ok": x.ok} for x in self.layers],
        }


@dataclass
class _Prepared:
    entities: list[dict]
    managed: frozenset[str]
    type_iri: str
    source_crs: str | None


def _geojson(geoms: list) -> list[dict | None]:
    out: list[dict | None] = [None] * len(geoms)
    present = [i for i, g in enumerate(geoms) if g is not None]
    if present:
        texts = shapely.to_geojson([geoms[i] for i in present])
        for i, text in zip(present, texts, strict=True):
            out[i] = orjson.loads(text)
    return out


def _source_attr(spec: LayerMap, data: LayerData) -> dict:
    prov = spec.provenance
    attr: dict = {"type": "Property", "value": prov.source if prov else data.file}
    attr[DATASET] = {"type": "Property", "value": spec.dataset()}
    if prov is not None and prov.date is not None:
        attr["sourceDate"] = {"type": "Property", "value": prov.date.isoformat()}
    if prov is not None and prov.licence:
        attr["license"] = {"type": "Property", "value": prov.licence}
    if data.source_crs:
        attr["sourceCRS"] = {"type": "Property", "value": data.source_crs}
    return attr


def build_entities(
    spec: LayerMap, data: LayerData, ctx: Context, scope: str | None = None
) -> tuple[list[dict], list[Problem]]:
    """Expanded entities of a layer's features, and every problem found (empty when fine)."""
    problems = list(data.problems)
    for name in spec.fields():
        if name not in data.columns:
            problems.append(
                Problem(
                    f"field named in the mapping is not in the layer (fields: "
                    f"{', '.join(data.fields)})",
                    None,
                    name,
                )
            )
    if any(p.row is None for p in problems):
        return [], problems
    ids = data.columns[spec.id_field]
    geometries = _geojson(data.geometries) if spec.geometry else [None] * data.count
    source = _source_attr(spec, data)
    seen: dict[str, int] = {}
    entities: list[dict] = []
    scope = spec.scope or scope
    for index in range(data.count):
        row = index + 1
        raw_id = ids[index]
        if cv.is_empty(raw_id):
            problems.append(Problem("missing id", row, spec.id_field))
            continue
        entity_id = cv.fill(spec.id_template, "id", raw_id)
        first = seen.setdefault(entity_id, row)
        if first != row:
            problems.append(
                Problem(
                    f"duplicate id {cv.text_of(raw_id)!r} (also row {first})", row, spec.id_field
                )
            )
            continue
        doc: dict = {"id": entity_id, "type": spec.type}
        if scope:
            doc["scope"] = scope
        failed = False
        for name, attr in spec.attributes.items():
            value = data.columns[attr.field][index]
            if cv.is_empty(value):
                continue
            try:
                converted = cv.convert(value, attr)
            except ValueError as exc:
                problems.append(Problem(str(exc), row, attr.field))
                failed = True
                continue
            doc[name] = {"type": "Property", "value": converted}
            if attr.unit_code:
                doc[name]["unitCode"] = attr.unit_code
        for name, rel in spec.relationships.items():
            value = data.columns[rel.field][index]
            if not cv.is_empty(value):
                doc[name] = {
                    "type": "Relationship",
                    "object": cv.fill(rel.template, "value", value),
                }
        if geometries[index] is not None:
            doc[spec.geometry] = {"type": "GeoProperty", "value": geometries[index]}
        doc[SOURCE] = source
        if failed:
            continue
        try:
            entities.append(expand_entity(doc, ctx))
        except HypervilleError as exc:
            problems.append(Problem(f"not a valid entity: {exc.detail}", row, None))
    return entities, problems


def _strip(instances: list[dict] | None) -> dict | None:
    """The default instance of an attribute without its system members (for comparisons)."""
    for instance in instances or ():
        if instance.get("datasetId") is None:
            return {k: v for k, v in instance.items() if k not in _SYSTEM}
    return None


def diff_entity(new: dict, old: dict, managed: frozenset[str]) -> dict | None:
    """The partial entity that turns ``old`` into ``new`` on the managed attributes, or None."""
    attrs: dict[str, list[dict]] = {}
    old_attrs = old.get("attrs", {})
    new_attrs = new.get("attrs", {})
    for iri in managed:
        fresh, current = _strip(new_attrs.get(iri)), _strip(old_attrs.get(iri))
        if fresh == current:
            continue
        if fresh is None:
            attrs[iri] = [{"type": current["type"], DELETE_MARK: True}]  # type: ignore[index]
        else:
            attrs[iri] = new_attrs[iri]
    missing_type = any(t not in old.get("type", ()) for t in new["type"])
    new_scope = [s for s in new.get("scope") or () if s not in (old.get("scope") or ())]
    if not attrs and not missing_type and not new_scope:
        return None
    out = {"id": new["id"], "type": new["type"], "attrs": attrs}
    if new.get("scope"):
        out["scope"] = new["scope"]
    return out


class Importer:
    """Imports the layers of a mapping into one tenant of the twin."""

    def __init__(
        self,
        twin: Twin,
        *,
        tenant: str = DEFAULT_TENANT,
        base_dir: Path | str = ".",
        contexts: ContextResolver | None = None,
        progress: Progress | None = None,
        chunk: int = CHUNK,
        path_check: Callable[[Path], Path] | None = None,
    ) -> None:
        self.twin = twin
        self.tenant = tenant
        self.base_dir = Path(base_dir)
        self.contexts = contexts or ContextResolver(allow_remote=False)
        self.progress = progress or (lambda *_: None)
        self.chunk = chunk
        self.path_check = path_check

    async def run(self, mapping: Mapping) -> ImportReport:
        started = time.perf_counter()
        report = ImportReport()
        try:
            ctx = await asyncio.to_thread(self.contexts.resolve, mapping.context)
        except HypervilleError as exc:
            for spec in mapping.layers:
                outcome = LayerOutcome(spec.dataset(), spec.file, spec.layer or "", spec.type)
                outcome.errors.append(f"cannot resolve the mapping's @context: {exc.detail}")
                report.layers.append(outcome)
            return report
        for spec in mapping.layers:
            report.layers.append(await self.import_layer(spec, ctx, mapping.scope))
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(
        self, spec: LayerMap, ctx: Context, scope: str | None, outcome: LayerOutcome
    ) -> _Prepared:
        path = self.base_dir / spec.file
        if self.path_check is not None:
            path = self.path_check(path)
        data = read_layer(path, spec.file, spec.layer, spec.fields(), spec.source_crs, spec.csv)
        outcome.layer, outcome.features, outcome.source_crs = (
            data.layer,
            data.count,
            data.source_crs,
        )
        self.progress(outcome.dataset, "check", 0, data.count)
        entities, problems = build_entities(spec, data, ctx, scope)
        self.progress(outcome.dataset, "check", data.count, data.count)
        if problems:
            raise LayerError(spec.file, data.layer, problems)
        names = [spec.geometry, *spec.attributes, *spec.relationships, SOURCE, REMOVED]
        managed = frozenset(ctx.expand_term(n) for n in names if n)
        return _Prepared(entities, managed, ctx.expand_term(spec.type), data.source_crs)

    def _existing(self, type_iri: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        offset = 0
        while True:
            page = self.twin.query(
                self.tenant, EntityQuery(types=(type_iri,), limit=PAGE, offset=offset)
            )
            for entity in page.entities:
                out[entity["id"]] = entity
            if len(page.entities) < PAGE:
                return out
            offset += PAGE

    async def import_layer(
        self, spec: LayerMap, ctx: Context, scope: str | None = None
    ) -> LayerOutcome:
        started = time.perf_counter()
        outcome = LayerOutcome(spec.dataset(), spec.file, spec.layer or "", spec.type)
        try:
            prepared = await asyncio.to_thread(self._prepare, spec, ctx, scope, outcome)
        except LayerError as exc:
            outcome.layer = exc.layer
            outcome.errors = exc.messages(MAX_MESSAGES)
            return outcome
        existing: dict[str, dict] = {}
        if self.twin.tenant_exists(self.tenant):
            existing = await asyncio.to_thread(self._existing, prepared.type_iri)
        writes: list[dict] = []
        in_file: set[str] = set()
        for entity in prepared.entities:
            in_file.add(entity["id"])
            old = existing.get(entity["id"])
            if old is None:
                writes.append(entity)
                outcome.added += 1
                continue
            patch = diff_entity(entity, old, prepared.managed)
            if patch is None:
                outcome.unchanged += 1
            else:
                writes.append(patch)
                outcome.changed += 1
        gone = [
            old
            for entity_id, old in existing.items()
            if entity_id not in in_file and _dataset_of(old, ctx) == outcome.dataset
        ]
        await self._write(outcome, writes)
        await self._remove(spec, ctx, outcome, gone)
        outcome.seconds = time.perf_counter() - started
        self.progress(outcome.dataset, "done", len(writes), len(writes))
        return outcome

    async def _write(self, outcome: LayerOutcome, writes: list[dict]) -> None:
        total, done = len(writes), 0
        self.progress(outcome.dataset, "write", 0, total)

        async def one(chunk: list[dict]) -> None:
            nonlocal done
            result = await self.twin.batch(
                self.tenant, "upsert", chunk, options=frozenset({"update"})
            )
            for entity_id, error in result.errors:
                outcome.errors.append(f"{outcome.file}: entity {entity_id}: {error.detail}")
            done += len(chunk)
            self.progress(outcome.dataset, "write", done, total)

        chunks = [writes[i : i + self.chunk] for i in range(0, total, self.chunk)]
        await asyncio.gather(*(one(c) for c in chunks))

    async def _remove(
        self, spec: LayerMap, ctx: Context, outcome: LayerOutcome, gone: list[dict]
    ) -> None:
        if not gone:
            return
        if spec.on_removed == "delete":
            result = await self.twin.batch_delete(self.tenant, [e["id"] for e in gone])
            outcome.removed = len(result.success)
            return
        removed_iri = ctx.expand_term(REMOVED)
        marks = [
            {
                "id": e["id"],
                "type": e["type"],
                "attrs": {removed_iri: [{"type": "Property", "value": now_iso()[:10]}]},
            }
            for e in gone
            if removed_iri not in e.get("attrs", {})
        ]
        if marks:
            result = await self.twin.batch(
                self.tenant, "upsert", marks, options=frozenset({"update"})
            )
            outcome.removed = len(result.success)


def _dataset_of(entity: dict, ctx: Context) -> str | None:
    source = _strip(entity.get("attrs", {}).get(ctx.expand_term(SOURCE)))
    if not source:
        return None
    member = source.get(ctx.expand_term(DATASET))
    return member.get("value") if isinstance(member, dict) else None
