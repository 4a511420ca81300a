"""NGSI-LD entity codec: compact JSON(-LD) <-> the twin's expanded entity.

The import point for :mod:`codec_expand` (validation and expansion of normalized or concise
input) and :mod:`codec_compact` (normalized / concise / keyValues output, sysAttrs,
attrs / pick / omit, lang, GeoJSON Features). The expanded shape is defined in
``docs/internals.md``.
"""

from __future__ import annotations

from hyperville.ngsild.codec_compact import (
    FORMATS,
    compact_attribute,
    compact_entity,
    entity_to_feature,
    parse_lang,
    pick_language,
)
from hyperville.ngsild.codec_expand import (
    GEOMETRY_TYPES,
    NULL_URI,
    VALUE_KEYS,
    check_name,
    expand_attribute,
    expand_attributes,
    expand_entity,
    expand_types,
    is_geometry,
    is_uri,
)

__all__ = [
    "FORMATS",
    "GEOMETRY_TYPES",
    "NULL_URI",
    "VALUE_KEYS",
    "check_name",
    "compact_attribute",
    "compact_entity",
    "entity_to_feature",
    "expand_attribute",
    "expand_attributes",
    "expand_entity",
    "expand_types",
    "is_geometry",
    "is_uri",
    "parse_lang",
    "pick_language",
]
