"""The import mapping file: which GIS layer becomes which NGSI-LD entity type, and how.

A mapping is a YAML file validated with pydantic; unknown keys are refused. Paths of source
files are relative to the mapping file's directory (or to the import directory, through the
API). Example (every key is documented in ``docs/import.md``)::

    context: null                 # optional @context (URL or list); default: the core context
    scope: /CauxSeine             # optional scope given to every entity (a layer may override)
    layers:
      - name: streetlights        # dataset name, unique in the file: re-imports find their
                                  #   entities by it (default: the layer, else the file stem)
        file: eclairage.gpkg      # GeoPackage, Shapefile (.shp), GeoJSON, CSV
        layer: points_lumineux    # layer of a multi-layer file (default: the only/first one)
        source_crs: EPSG:2154     # overrides the file's CRS (needed for CSV x/y, .shp w/o .prj)
        type: Streetlight         # entity type (Smart Data Models name)
        id_field: code            # the stable id of a feature
        id_template: "urn:ngsi-ld:Streetlight:{id}"
        geometry: location        # GeoProperty name (default location); null: no geometry
        attributes:
          powerRating: {field: puissance, type: number, unitCode: WTT}
          lampHeight: {field: haut_cm, type: number, scale: 0.01, unitCode: MTR}
          dateInstalled: {field: date_pose, type: date}
          name: nom               # shorthand: {field: nom, type: auto}
        relationships:
          refCabinet:
            field: cabinet_id
            template: "urn:ngsi-ld:StreetlightControlCabinet:{value}"
        provenance: {source: "SIG Caux Seine Agglo", date: 2026-10-01, licence: "Etalab-2.0"}
        on_removed: delete        # delete (default) or mark entities no longer in the file
        csv: {x: X, y: Y}         # CSV only: coordinate columns (default: detected)

Provenance is stored on every entity as a ``source`` Property (value: ``provenance.source``)
with the sub-attributes ``sourceDataset`` (the layer's dataset name: re-imports find their
entities by it), ``sourceDate``, ``license`` and ``sourceCRS``.

Types of attribute values: ``auto`` (as read), ``string``, ``number``, ``integer``,
``boolean``, ``date`` (ISO ``YYYY-MM-DD``), ``datetime`` (ISO, UTC ``Z``). ``scale`` multiplies
numbers (``number``/``integer``) before they are stored.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ValueType = Literal["auto", "string", "number", "integer", "boolean", "date", "datetime"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]*$")


class MappingError(ValueError):
    """A mapping file that cannot be read or is not valid; the message is for people."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AttributeMap(_Strict):
    """One field of the layer → one Property of the entity."""

    field: str
    type: ValueType = "auto"
    unit_code: str | None = Field(default=None, alias="unitCode")
    scale: float | None = None

    @model_validator(mode="after")
    def _scale_on_numbers(self) -> AttributeMap:
        if self.scale is not None and self.type not in ("number", "integer"):
            raise ValueError("scale applies to number and integer attributes only")
        return self


class RelationshipMap(_Strict):
    """One field of the layer → one Relationship whose object is ``template`` filled in."""

    field: str
    template: str

    @field_validator("template")
    @classmethod
    def _has_value(cls, value: str) -> str:
        if "{value}" not in value:
            raise ValueError("the template must contain {value}")
        return value


class Provenance(_Strict):
    """Where a dataset comes from; stored on each entity as the ``source`` attribute."""

    source: str
    date: dt.date | None = None
    licence: str | None = Field(default=None, alias="license")


class CsvOptions(_Strict):
    """CSV specifics; everything is detected when not given."""

    x: str | None = None  # longitude or easting column
    y: str | None = None  # latitude or northing column
    wkt: str | None = None  # a column of WKT geometries instead of x/y
    delimiter: str | None = None  # "," or ";" (sniffed by default)
    encoding: str | None = None  # "utf-8" or "latin-1" (detected by default)

    @model_validator(mode="after")
    def _pairs(self) -> CsvOptions:
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y, or neither")
        if self.wkt and self.x:
            raise ValueError("give x/y or wkt, not both")
        return self


class LayerMap(_Strict):
    """One layer of a source file → one entity type."""

    name: str | None = None
    file: str
    layer: str | None = None
    source_crs: str | None = None
    type: str
    id_field: str
    id_template: str
    geometry: str | None = "location"
    scope: str | None = None
    attributes: dict[str, AttributeMap] = Field(default_factory=dict)
    relationships: dict[str, RelationshipMap] = Field(default_factory=dict)
    provenance: Provenance | None = None
    on_removed: Literal["delete", "mark"] = "delete"
    csv: CsvOptions | None = None

    @field_validator("attributes", mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"field": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("id_template")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("the id template must contain {id}")
        return value

    @field_validator("type")
    @classmethod
    def _type_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"not a valid entity type name: {value!r}")
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("a scope starts with '/'")
        return value

    @model_validator(mode="after")
    def _names(self) -> LayerMap:
        taken = set(self.attributes)
        for name in (*self.attributes, *self.relationships):
            if not _NAME.match(name):
                raise ValueError(f"not a valid attribute name: {name!r}")
        for name in self.relationships:
            if name in taken:
                raise ValueError(f"{name!r} is both an attribute and a relationship")
        reserved = {"id", "type", "scope", "source", self.geometry}
        for name in (*self.attributes, *self.relationships):
            if name in reserved:
                raise ValueError(f"{name!r} is reserved (id, type, scope, source, geometry)")
        return self

    def dataset(self) -> str:
        """The dataset name that re-imports use to find this layer's entities."""
        return self.name or self.layer or Path(self.file).stem

    def fields(self) -> list[str]:
        """Every field of the source that the mapping reads (the id first)."""
        out = [self.id_field]
        for spec in (*self.attributes.values(), *self.relationships.values()):
            if spec.field not in out:
                out.append(spec.field)
        return out


class Mapping(_Strict):
    """A whole mapping file."""

    context: str | list[str] | None = None
    scope: str | None = None
    layers: list[LayerMap] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Mapping:
        seen: set[str] = set()
        for layer in self.layers:
            name = layer.dataset()
            if name in seen:
                raise ValueError(f"two layers have the dataset name {name!r}: give each a name")
            seen.add(name)
        return self


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "mapping"
        parts.append(f"{where}: {str(err.get('msg', '')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_mapping(text: str, where: str = "mapping") -> Mapping:
    """A mapping from YAML text; raises :class:`MappingError` naming what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{where}: a mapping file is a YAML object with a 'layers' list")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"{where}: {_explain(exc)}") from None


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc.strerror}") from None
    return parse_mapping(text, str(path))
