"""Tests for hyperville.ngsild.codec: expansion, validation, compaction, GeoJSON."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from hyperville.core.errors import BadRequestData
from hyperville.ngsild.codec import (
    compact_attribute,
    compact_entity,
    entity_to_feature,
    expand_attributes,
    expand_entity,
)
from hyperville.ngsild.context import Context, ContextResolver
from shared_data import SMART_DATA_MODELS

SDM = SMART_DATA_MODELS
NGSILD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT = NGSILD + "default-context/"
SL = "https://smartdatamodels.org/dataModel.Streetlighting/"
EXAMPLES = sorted(SDM.glob("*/*/example-normalized.jsonld"))
# SolarEnergy: its example Point has coordinates [[lon, lat]] (one level too deep)
BROKEN = {"PhotovoltaicDevice", "PhotovoltaicMeasurement", "SolarEnergy", "TransportStation"}
VALID = [p for p in EXAMPLES if p.parent.name not in BROKEN]
SUBJECT_RE = re.compile(r"dataModel\.(\w+)")


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> ContextResolver:
    """An offline resolver whose cache dir maps every smart-data-models context URL."""
    cache = tmp_path_factory.mktemp("contexts")
    index = {}
    for example in EXAMPLES:
        ctx = json.loads(example.read_text()).get("@context", [])
        for url in ctx if isinstance(ctx, list) else [ctx]:
            match = SUBJECT_RE.search(url)
            if match:
                name = f"{match.group(1)}.jsonld"
                (cache / name).write_bytes((SDM / match.group(1) / "context.jsonld").read_bytes())
                index[url] = name
    (cache / "index.json").write_text(json.dumps(index))
    return ContextResolver(cache, allow_remote=False)


@pytest.fixture(scope="module")
def core(resolver: ContextResolver) -> Context:
    return resolver.core()


def load(path: Path, resolver: ContextResolver) -> tuple[dict, Context]:
    doc = json.loads(path.read_text())
    return doc, resolver.resolve(doc["@context"])


def streetlight(resolver: ContextResolver) -> tuple[dict, Context]:
    return load(SDM / "Streetlighting/Streetlight/example-normalized.jsonld", resolver)


# -- round trips on real data -------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.parent.name)
def test_smart_data_models_round_trip(path: Path, resolver: ContextResolver) -> None:
    doc, ctx = load(path, resolver)
    entity = expand_entity(doc, ctx)
    assert "@context" not in json.dumps(entity)
    assert all(":" in iri for iri in entity["attrs"])
    body = {k: v for k, v in doc.items() if k != "@context"}
    assert compact_entity(entity, ctx) == body
    assert expand_entity(compact_entity(entity, ctx, fmt="concise"), ctx) == entity
    kv = compact_entity(entity, ctx, fmt="keyValues")
    assert set(kv) == set(body)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.parent.name in BROKEN])
def test_broken_smart_data_models_examples_are_rejected(path, resolver) -> None:
    doc, ctx = load(path, resolver)
    with pytest.raises(BadRequestData, match=r"attribute (refDevice|refPhoto|dateLast|location)"):
        expand_entity(doc, ctx)


def test_streetlight_expanded_shape(resolver: ContextResolver) -> None:
    doc, ctx = streetlight(resolver)
    e = expand_entity(doc, ctx)
    assert e["id"] == doc["id"]
    assert e["type"] == [SL + "Streetlight"]
    assert e["attrs"][SL + "powerState"] == [{"type": "Property", "value": "off"}]
    assert e["attrs"][NGSILD + "location"][0]["type"] == "GeoProperty"
    assert e["attrs"][NGSILD + "status"] == [{"type": "Property", "value": "ok"}]
    rel = e["attrs"][SL + "refStreetlightGroup"][0]
    assert rel == {"type": "Relationship", "object": doc["refStreetlightGroup"]["object"]}
    muni = e["attrs"][SL + "municipalityInfo"][0]
    assert muni[SL + "deviceInfo"]["type"] == "Property"  # sub-attribute keyed by IRI
    assert list(e) == ["id", "type", "attrs"]


def test_streetlight_key_values(resolver: ContextResolver) -> None:
    doc, ctx = streetlight(resolver)
    kv = compact_entity(expand_entity(doc, ctx), ctx, fmt="keyValues")
    assert kv["type"] == "Streetlight"
    assert kv["powerState"] == "off"
    assert kv["refStreetlightGroup"] == doc["refStreetlightGroup"]["object"]
    assert kv["location"] == doc["location"]["value"]
    assert kv["municipalityInfo"] == doc["municipalityInfo"]["value"]
    assert compact_entity(expand_entity(doc, ctx), ctx, fmt="simplified") == kv


def test_concise_streetlight_shape(resolver: ContextResolver) -> None:
    doc, ctx = streetlight(resolver)
    c = compact_entity(expand_entity(doc, ctx), ctx, fmt="concise")
    assert c["powerState"] == "off"
    assert c["location"] == doc["location"]["value"]
    assert c["refStreetlightGroup"] == {"object": doc["refStreetlightGroup"]["object"]}
    assert c["municipalityInfo"]["value"] == doc["municipalityInfo"]["value"]
    assert "type" not in c["municipalityInfo"]["deviceInfo"]


# -- concise input inference ----------------------------------------------------------------

POINT = {"type": "Point", "coordinates": [1.0, 49.5]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (21.5, {"type": "Property", "value": 21.5}),
        ([1, 2], {"type": "Property", "value": [1, 2]}),
        ({"value": 3, "unitCode": "CEL"}, {"type": "Property", "value": 3, "unitCode": "CEL"}),
        ({"a": 1}, {"type": "Property", "value": {"a": 1}}),
        ({"object": "urn:x:1"}, {"type": "Relationship", "object": "urn:x:1"}),
        ({"languageMap": {"fr": "a"}}, {"type": "LanguageProperty", "languageMap": {"fr": "a"}}),
        ({"valueList": [1, 2]}, {"type": "ListProperty", "valueList": [1, 2]}),
        (
            {"objectList": ["urn:x:1", {"object": "urn:x:2"}]},
            {
                "type": "ListRelationship",
                "objectList": [{"object": "urn:x:1"}, {"object": "urn:x:2"}],
            },
        ),
        (
            {"json": {"@id": "x", "k": [1]}},
            {"type": "JsonProperty", "json": {"@id": "x", "k": [1]}},
        ),
        ({"vocab": "Open"}, {"type": "VocabProperty", "vocab": DEFAULT + "Open"}),
        (POINT, {"type": "GeoProperty", "value": POINT}),
    ],
)
def test_concise_inference(given: object, expected: dict, core: Context) -> None:
    e = expand_entity({"id": "urn:x:e", "type": "T", "a": given}, core)
    assert e["attrs"][DEFAULT + "a"] == [expected]


def test_concise_location_with_value_is_geo(core: Context) -> None:
    e = expand_entity({"id": "urn:x:e", "type": "T", "location": {"value": POINT}}, core)
    assert e["attrs"][NGSILD + "location"][0]["type"] == "GeoProperty"
    e = expand_entity({"id": "urn:x:e", "type": "T", "other": {"value": POINT}}, core)
    assert e["attrs"][DEFAULT + "other"][0]["type"] == "Property"


def test_concise_keeps_type_where_inference_would_differ(core: Context) -> None:
    doc = {
        "id": "urn:x:e",
        "type": "T",
        "location": {"type": "Property", "value": POINT},
        "area": {"type": "GeoProperty", "value": POINT, "q": 1},
        "observationSpace": {"type": "GeoProperty", "value": POINT, "q": 1},
        "nested": {"type": "Property", "value": [{"a": 1}]},
    }
    e = expand_entity(doc, core)
    c = compact_entity(e, core, fmt="concise")
    assert c["location"]["type"] == "Property"
    assert c["area"]["type"] == "GeoProperty"
    assert "type" not in c["observationSpace"]
    assert c["nested"] == {"value": [{"a": 1}]}
    assert expand_entity(c, core) == e


def test_every_attribute_type_round_trips(core: Context) -> None:
    doc = {
        "id": "urn:ngsi-ld:Thing:1",
        "type": ["Thing", "ngsi-ld:Other"],
        "scope": ["/Normandie/CauxSeine", "/a"],
        "name": {"type": "LanguageProperty", "languageMap": {"fr": "Pont", "en": "Bridge"}},
        "state": {"type": "VocabProperty", "vocab": ["Open", "ngsi-ld:Closed"]},
        "raw": {"type": "JsonProperty", "json": {"type": "Property", "value": None}},
        "readings": {"type": "ListProperty", "valueList": [1, 2, 3]},
        "links": {
            "type": "ListRelationship",
            "objectList": [{"object": "urn:x:1"}],
            "objectType": "Thing",
        },
        "loc2": {"type": "GeoProperty", "value": POINT, "q": {"type": "Property", "value": 1}},
        "speed": {
            "type": "Property",
            "value": 3,
            "observedAt": "2026-11-25T10:00:00.000Z",
            "unitCode": "KMH",
            "source": {"type": "Relationship", "object": ["urn:x:s1", "urn:x:s2"]},
        },
        "located": {"type": "Property", "value": POINT, "lang": "fr"},
    }
    e = expand_entity(doc, core)
    assert e["type"] == [DEFAULT + "Thing", NGSILD + "Other"]
    assert e["attrs"][DEFAULT + "state"][0]["vocab"] == [DEFAULT + "Open", NGSILD + "Closed"]
    assert e["attrs"][DEFAULT + "links"][0]["objectType"] == DEFAULT + "Thing"
    assert compact_entity(e, core) == doc
    for fmt in ("concise", "normalized"):
        assert expand_entity(compact_entity(e, core, fmt=fmt), core) == e
    kv = compact_entity(e, core, fmt="keyValues")
    assert kv["name"] == {"languageMap": {"fr": "Pont", "en": "Bridge"}}
    assert kv["state"] == {"vocab": ["Open", "ngsi-ld:Closed"]}
    assert kv["raw"] == {"json": {"type": "Property", "value": None}}
    assert kv["readings"] == {"valueList": [1, 2, 3]}
    assert kv["links"] == {"objectList": ["urn:x:1"]}
    assert kv["speed"] == 3 and kv["loc2"] == POINT


def test_input_system_attributes_are_ignored(core: Context) -> None:
    doc = {
        "id": "urn:x:e",
        "type": "T",
        "createdAt": "2020-01-01T00:00:00Z",
        "@context": "whatever",
        "a": {"type": "Property", "value": 1, "modifiedAt": "2020-01-01T00:00:00Z"},
    }
    e = expand_entity(doc, core)
    assert e == {
        "id": "urn:x:e",
        "type": [DEFAULT + "T"],
        "attrs": {DEFAULT + "a": [{"type": "Property", "value": 1}]},
    }


# -- multi-instance -------------------------------------------------------------------------

MULTI = {
    "id": "urn:x:car",
    "type": "Car",
    "speed": [
        {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        {"type": "Property", "value": 54},
    ],
}


def test_multi_instance_default_first(core: Context) -> None:
    e = expand_entity(MULTI, core)
    assert len(e["attrs"][DEFAULT + "speed"]) == 2
    out = compact_entity(e, core)
    assert out["speed"][0] == {"type": "Property", "value": 54}
    assert compact_entity(e, core, fmt="keyValues")["speed"] == {
        "dataset": {"@none": 54, "urn:ngsi-ld:Dataset:gps": 55}
    }
    assert compact_entity(e, core, fmt="concise")["speed"] == [
        54,
        {"value": 55, "datasetId": "urn:ngsi-ld:Dataset:gps"},
    ]


@pytest.mark.parametrize(
    "instances",
    [
        [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}],
        [{"value": 1, "datasetId": "urn:d:1"}, {"value": 2, "datasetId": "urn:d:1"}],
    ],
)
def test_duplicate_dataset_ids_rejected(instances: list, core: Context) -> None:
    with pytest.raises(BadRequestData, match="speed"):
        expand_entity({"id": "urn:x:car", "type": "Car", "speed": instances}, core)


def test_same_attribute_by_term_and_iri_is_merged_or_rejected(core: Context) -> None:
    doc = {
        "id": "urn:x:e",
        "type": "T",
        "a": 1,
        DEFAULT + "a": {"value": 2, "datasetId": "urn:d:2"},
    }
    assert len(expand_entity(doc, core)["attrs"][DEFAULT + "a"]) == 2
    with pytest.raises(BadRequestData):
        expand_entity({"id": "urn:x:e", "type": "T", "a": 1, DEFAULT + "a": 2}, core)


# -- validation errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"id": "not a uri", "type": "T"}, "entity id"),
        ({"id": "nocolon", "type": "T"}, "entity id"),
        ({"id": 5, "type": "T"}, "entity id"),
        ({"type": "T"}, "id is missing"),
        ({"id": "urn:x:1"}, "type is missing"),
        ({"id": "urn:x:1", "type": []}, "type"),
        ({"id": "urn:x:1", "type": [3]}, "entity type"),
        ({"id": "urn:x:1", "type": ""}, "entity type"),
        ({"id": "urn:x:1", "type": "T", "scope": "nope"}, "scope"),
        ({"id": "urn:x:1", "type": "T", "bad name": 1}, "bad name"),
        ({"id": "urn:x:1", "type": "T", "a=b": 1}, "a=b"),
        ({"id": "urn:x:1", "type": "T", "@weird": 1}, "@weird"),
        ({"id": "urn:x:1", "type": "T", "a": None}, "attribute a"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"type": "Foo", "value": 1}},
            "unknown attribute type",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}, "'value'"),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Property", "value": None}}, "null"),
        (
            {"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "object": "x y"}},
            "attribute r",
        ),
        (
            {"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "object": []}},
            "attribute r",
        ),
        (
            {"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "value": "urn:a:b"}},
            "'value' not allowed",
        ),
        (
            {"id": "urn:x:1", "type": "T", "g": {"type": "GeoProperty", "value": "POINT(1 2)"}},
            "GeoJSON",
        ),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "g": {"type": "GeoProperty", "value": {"type": "Point"}},
            },
            "coordinates",
        ),
        (
            {"id": "urn:x:1", "type": "T", "l": {"type": "LanguageProperty", "languageMap": []}},
            "languageMap",
        ),
        ({"id": "urn:x:1", "type": "T", "l": {"languageMap": {"fr": 3}}}, "'fr'"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "observedAt": "yesterday"}},
            "observedAt",
        ),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "observedAt": "2020-01-01"}},
            "observedAt",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "datasetId": "ds1"}}, "datasetId"),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "unitCode": 7}}, "unitCode"),
        ({"id": "urn:x:1", "type": "T", "a": {"valueList": 3}}, "valueList"),
        ({"id": "urn:x:1", "type": "T", "a": {"objectList": ["nope"]}}, "objectList"),
        ({"id": "urn:x:1", "type": "T", "a": {"vocab": 3}}, "vocab"),
        ({"id": "urn:x:1", "type": "T", "a": {"vocab": ""}}, "vocab"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "sub": {"type": "Relationship"}}},
            "a.sub",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "sub": {"object": "bad uri"}}}, "a.sub"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "s": [{"value": 1}, {"value": 2}]}},
            "one instance",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "b c": 1}}, "b c"),
    ],
)
def test_expansion_errors(doc: dict, fragment: str, core: Context) -> None:
    with pytest.raises(BadRequestData) as info:
        expand_entity(doc, core)
    assert fragment in info.value.detail


def test_non_object_entity_and_fragment(core: Context) -> None:
    with pytest.raises(BadRequestData):
        expand_entity([], core)  # type: ignore[arg-type]
    with pytest.raises(BadRequestData):
        expand_attributes("x", core)  # type: ignore[arg-type]
    with pytest.raises(BadRequestData, match="type"):
        expand_attributes({"type": "T"}, core)


def test_deep_nesting_rejected(core: Context) -> None:
    attr: dict = {"value": 1}
    for _ in range(20):
        attr = {"value": 1, "sub": attr}
    with pytest.raises(BadRequestData, match="deep"):
        expand_entity({"id": "urn:x:1", "type": "T", "a": attr}, core)


# -- fragments, partial, merge-patch ----------------------------------------------------------


def test_expand_attributes_fragment(core: Context) -> None:
    out = expand_attributes({"@context": "x", "id": "urn:x:1", "temp": {"value": 3}}, core)
    assert out == {DEFAULT + "temp": [{"type": "Property", "value": 3}]}


def test_null_is_rejected_without_allow_null(core: Context) -> None:
    with pytest.raises(BadRequestData, match="temp"):
        expand_attributes({"temp": None}, core)


def test_merge_patch_deletion_markers(core: Context) -> None:
    out = expand_attributes(
        {
            "a": None,
            "b": "urn:ngsi-ld:null",
            "c": {"type": "Relationship", "object": "urn:ngsi-ld:null"},
            "d": {"value": None, "datasetId": "urn:d:1"},
            "e": {"type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"}},
            "f": {"value": 5, "sub": None},
        },
        core,
        allow_null=True,
    )
    assert out[DEFAULT + "a"] == [{"type": "Property", "_delete": True}]
    assert out[DEFAULT + "b"] == [{"type": "Property", "_delete": True}]
    assert out[DEFAULT + "c"] == [{"type": "Relationship", "_delete": True}]
    assert out[DEFAULT + "d"] == [{"type": "Property", "_delete": True, "datasetId": "urn:d:1"}]
    assert out[DEFAULT + "e"] == [{"type": "LanguageProperty", "_delete": True}]
    assert out[DEFAULT + "f"][0][DEFAULT + "sub"] == {"type": "Property", "_delete": True}


def test_partial_entity(core: Context) -> None:
    e = expand_entity({"a": 1, "b": None}, core, partial=True)
    assert e == {
        "attrs": {
            DEFAULT + "a": [{"type": "Property", "value": 1}],
            DEFAULT + "b": [{"type": "Property", "_delete": True}],
        }
    }


# -- compaction options ---------------------------------------------------------------------


@pytest.fixture
def stored(resolver: ContextResolver) -> tuple[dict, Context]:
    doc, ctx = streetlight(resolver)
    e = expand_entity(doc, ctx)
    e["createdAt"] = e["modifiedAt"] = "2026-11-25T10:00:00.000000Z"
    for instances in e["attrs"].values():
        for inst in instances:
            inst["createdAt"] = inst["modifiedAt"] = "2026-11-25T10:00:00.000000Z"
    return e, ctx


def test_sys_attrs(stored: tuple[dict, Context]) -> None:
    e, ctx = stored
    plain = compact_entity(e, ctx)
    assert "createdAt" not in plain and "createdAt" not in plain["powerState"]
    assert "createdAt" not in plain["municipalityInfo"]["deviceInfo"]
    full = compact_entity(e, ctx, sys_attrs=True)
    assert full["createdAt"] == e["createdAt"]
    assert full["powerState"]["modifiedAt"] == e["modifiedAt"]
    concise = compact_entity(e, ctx, fmt="concise", sys_attrs=True)
    assert concise["powerState"] == {
        "value": "off",
        "createdAt": e["createdAt"],
        "modifiedAt": e["modifiedAt"],
    }


def test_attrs_pick_omit(stored: tuple[dict, Context]) -> None:
    e, ctx = stored
    out = compact_entity(e, ctx, attrs={SL + "powerState", SL + "voltage"})
    assert set(out) == {"id", "type", "powerState", "voltage"}
    out = compact_entity(e, ctx, pick={"id", SL + "powerState"})
    assert set(out) == {"id", "powerState"}
    out = compact_entity(e, ctx, omit={"type", SL + "powerState"})
    assert "type" not in out and "powerState" not in out and "voltage" in out
    out = compact_entity(e, ctx, fmt="keyValues", pick={"type", SL + "voltage"})
    assert out == {"type": "Streetlight", "voltage": 50}


def test_compact_attribute_alone(stored: tuple[dict, Context]) -> None:
    e, ctx = stored
    inst = e["attrs"][SL + "powerState"]
    assert (
        compact_attribute(SL + "powerState", inst, ctx, fmt="keyValues", sys_attrs=False, lang=None)
        == "off"
    )
    with pytest.raises(BadRequestData):
        compact_attribute(SL + "powerState", inst, ctx, fmt="xml", sys_attrs=False, lang=None)


LANG_DOC = {
    "id": "urn:x:bridge",
    "type": "Bridge",
    "name": {
        "type": "LanguageProperty",
        "languageMap": {"fr": "Pont de Normandie", "en": "Normandy Bridge", "@none": "PdN"},
        "sub": {"type": "LanguageProperty", "languageMap": {"fr": "oui", "en": "yes"}},
    },
}


@pytest.mark.parametrize(
    ("lang", "chosen", "text"),
    [
        ("en", "en", "Normandy Bridge"),
        ("de,fr;q=0.9,en;q=0.5", "fr", "Pont de Normandie"),
        ("en-GB", "en", "Normandy Bridge"),
        ("es", "@none", "PdN"),
    ],
)
def test_lang_filter(lang: str, chosen: str, text: str, core: Context) -> None:
    e = expand_entity(LANG_DOC, core)
    out = compact_entity(e, core, lang=lang)
    assert out["name"]["type"] == "Property"
    assert out["name"]["value"] == text and out["name"]["lang"] == chosen
    assert out["name"]["sub"]["type"] == "Property"
    assert compact_entity(e, core, fmt="keyValues", lang=lang)["name"] == text
    concise = compact_entity(e, core, fmt="concise", lang=lang)
    assert concise["name"]["value"] == text and "type" not in concise["name"]


def test_no_lang_keeps_language_map(core: Context) -> None:
    e = expand_entity(LANG_DOC, core)
    assert compact_entity(e, core)["name"]["type"] == "LanguageProperty"


def test_lang_star_picks_any_language(core: Context) -> None:
    e = expand_entity(LANG_DOC, core)
    name = compact_entity(e, core, lang="*")["name"]
    assert name["type"] == "Property"
    assert name["value"] == LANG_DOC["name"]["languageMap"][name["lang"]]


def test_compact_with_user_context_and_unknown_iris(
    resolver: ContextResolver, core: Context
) -> None:
    doc, ctx = streetlight(resolver)
    e = expand_entity(doc, ctx)
    out = compact_entity(e, core)  # a requester without the smart-data-models context
    assert out["type"] == SL + "Streetlight"
    assert out[SL + "powerState"]["value"] == "off"
    assert out["location"]["type"] == "GeoProperty"


def test_compaction_does_not_mutate(stored: tuple[dict, Context]) -> None:
    e, ctx = stored
    before = copy.deepcopy(e)
    for fmt in ("normalized", "concise", "keyValues"):
        compact_entity(e, ctx, fmt=fmt, sys_attrs=True, lang="fr")
    assert e == before


# -- GeoJSON --------------------------------------------------------------------------------


def test_entity_to_feature(stored: tuple[dict, Context]) -> None:
    e, ctx = stored
    f = entity_to_feature(e, ctx, geoproperty_iri=NGSILD + "location")
    assert f["type"] == "Feature" and f["id"] == e["id"]
    assert f["geometry"] == e["attrs"][NGSILD + "location"][0]["value"]
    assert "id" not in f["properties"]
    assert f["properties"]["type"] == "Streetlight"
    assert f["properties"]["location"]["type"] == "GeoProperty"
    f = entity_to_feature(
        e, ctx, geoproperty_iri=NGSILD + "location", fmt="keyValues", pick={"type"}
    )
    assert f["properties"] == {"type": "Streetlight"}
    assert f["geometry"]["type"] == "Point"
    f = entity_to_feature(e, ctx, geoproperty_iri=DEFAULT + "nowhere")
    assert f["geometry"] is None
