"""NGSI-LD attribute types and the member that holds each one's value (CIM 009 clause 4.5)."""

from __future__ import annotations

VALUE_KEYS: dict[str, str] = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
}
"""Attribute type -> the member of an instance that holds its value."""
