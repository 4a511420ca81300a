"""The importer: features to entities, bad input refused per layer, idempotent re-imports."""

from __future__ import annotations

import pytest
import shapely
from gis_files import LE_HAVRE_L93, to_wgs84, write_csv, write_layer

from hyperville.store.base import EntityQuery, HistoryQuery

X, Y = LE_HAVRE_L93
NGSI = "https://uri.etsi.org/ngsi-ld/"
DEF = NGSI + "default-context/"
LIGHT = DEF + "Streetlight"

MAPPING = """
layers:
  - name: lights
    file: lights.gpkg
    type: Streetlight
    id_field: code
    id_template: "urn:ngsi-ld:Streetlight:{id}"
    attributes:
      powerRating: {field: power, type: number, unitCode: WTT}
      lampHeight: {field: height_cm, type: number, scale: 0.01, unitCode: MTR}
      dateInstalled: {field: installed, type: date}
      lanternCount: {field: lanterns, type: integer}
      ledLamp: {field: led, type: boolean}
      name: nom
    relationships:
      refCabinet: {field: cabinet, template: "urn:ngsi-ld:StreetlightControlCabinet:{value}"}
    provenance: {source: "SIG Caux Seine Agglo", date: 2026-10-01, licence: "Licence Ouverte 2.0"}
"""


def lights(tmp_path, rows=None, **overrides):
    """lights.gpkg: one point per row, 10 m east of the city hall per number in its code."""
    rows = rows or [
        ("SL1", 70.0, 850, "2019-05-02", 1, "oui", "Rue A", "C1"),
        ("SL2", None, 900, "12/03/2021", 2, "non", "Rue B", "C1"),
        ("SL3", 100.0, None, None, None, None, None, None),
    ]
    columns = {
        "code": [r[0] for r in rows],
        "power": [r[1] for r in rows],
        "height_cm": [r[2] for r in rows],
        "installed": [r[3] for r in rows],
        "lanterns": [r[4] for r in rows],
        "led": [r[5] for r in rows],
        "nom": [r[6] for r in rows],
        "cabinet": [r[7] for r in rows],
    }
    columns.update(overrides)
    geoms = [shapely.Point(X + 10 * int((r[0] or "SL0")[2:]), Y) for r in rows]
    path = tmp_path / "lights.gpkg"
    path.unlink(missing_ok=True)
    return write_layer(path, geoms, columns, layer="lights")


def value(entity, name, key="value"):
    return entity["attrs"][DEF + name][0][key]


def count(twin, type_iri=LIGHT, tenant=""):
    if not twin.tenant_exists(tenant):
        return 0
    return len(twin.query(tenant, EntityQuery(types=(type_iri,), limit=1000)).entities)


def test_features_become_entities(tmp_path, twin, run_import):
    lights(tmp_path)
    report = run_import(MAPPING)
    assert report.ok, report.to_dict()
    layer = report.layers[0]
    assert (layer.features, layer.added, layer.source_crs) == (3, 3, "EPSG:2154")
    one = twin.get("", "urn:ngsi-ld:Streetlight:SL1")
    assert one["type"] == [LIGHT]
    assert value(one, "powerRating") == 70.0
    assert value(one, "powerRating", "unitCode") == "WTT"
    assert value(one, "lampHeight") == pytest.approx(8.5)
    assert value(one, "dateInstalled") == "2019-05-02"
    assert value(one, "lanternCount") == 1
    assert value(one, "ledLamp") is True
    assert value(one, "name") == "Rue A"
    assert value(one, "refCabinet", "object") == "urn:ngsi-ld:StreetlightControlCabinet:C1"
    location = one["attrs"][NGSI + "location"][0]
    assert location["type"] == "GeoProperty"
    assert tuple(location["value"]["coordinates"]) == to_wgs84(X + 10, Y)
    source = one["attrs"][DEF + "source"][0]
    assert source["value"] == "SIG Caux Seine Agglo"
    assert source[DEF + "sourceDataset"]["value"] == "lights"
    assert source[DEF + "sourceDate"]["value"] == "2026-10-01"
    assert source[DEF + "license"]["value"] == "Licence Ouverte 2.0"
    assert source[DEF + "sourceCRS"]["value"] == "EPSG:2154"
    two = twin.get("", "urn:ngsi-ld:Streetlight:SL2")
    assert value(two, "dateInstalled") == "2021-03-12"  # French day/month/year
    assert value(two, "ledLamp") is False
    assert DEF + "powerRating" not in two["attrs"]  # an empty cell is a gap, not an error
    three = twin.get("", "urn:ngsi-ld:Streetlight:SL3")
    assert set(three["attrs"]) == {DEF + "powerRating", NGSI + "location", DEF + "source"}


# -- bad input: nothing of the layer is imported, messages name file, layer, row, field ----
def _failed(report):
    assert not report.ok
    layer = report.layers[0]
    assert (layer.added, layer.changed, layer.removed) == (0, 0, 0)
    return layer.errors


def test_broken_geometry(tmp_path, twin, run_import):
    bowtie = shapely.Polygon([(X, Y), (X + 10, Y + 10), (X + 10, Y), (X, Y + 10), (X, Y)])
    good = shapely.box(X, Y, X + 5, Y + 5)
    write_layer(tmp_path / "lights.gpkg", [good, bowtie], {"code": ["A", "B"]}, layer="lights")
    errors = _failed(run_import(MAPPING.split("    attributes:")[0]))
    assert errors == [
        "lights.gpkg, layer lights, row 2, field geometry: broken geometry: "
        f"Self-intersection[{X + 5:.0f} {Y + 5:.0f}]"
    ]
    assert count(twin) == 0


def test_missing_and_duplicate_ids(tmp_path, twin, run_import):
    rows = [
        ("SL1", 1.0, 1, None, None, None, None, None),
        (None, 2.0, 1, None, None, None, None, None),
        ("SL3", 3.0, 1, None, None, None, None, None),
        ("SL1", 4.0, 1, None, None, None, None, None),
    ]
    lights(tmp_path, rows)
    assert _failed(run_import(MAPPING)) == [
        "lights.gpkg, layer lights, row 2, field code: missing id",
        "lights.gpkg, layer lights, row 4, field code: duplicate id 'SL1' (also row 1)",
    ]
    assert count(twin) == 0


def test_a_mapped_field_absent_from_the_layer(tmp_path, twin, run_import):
    write_layer(
        tmp_path / "lights.gpkg",
        [shapely.Point(X, Y)],
        {"code": ["a"], "power": [1.0]},
        layer="lights",
    )
    errors = _failed(run_import(MAPPING.replace("field: power,", "field: puissance,")))
    assert errors[0] == (
        "lights.gpkg, layer lights, field puissance: field named in the mapping is not in the "
        "layer (fields: code, power)"
    )
    assert "field height_cm" in errors[1]
    assert count(twin) == 0


@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        ("power", "abc", "row 2, field power: 'abc' is not a number"),
        ("installed", "2021-13-45", "row 2, field installed: '2021-13-45' is not a date"),
        ("lanterns", "1.5", "row 2, field lanterns: '1.5' is not an integer"),
        ("led", "peut-être", "row 2, field led: 'peut-être' is not a boolean"),
    ],
)
def test_values_that_do_not_convert(tmp_path, twin, run_import, column, bad, message):
    rows = [
        "code",
        "power",
        "height_cm",
        "installed",
        "lanterns",
        "led",
        "nom",
        "cabinet",
        "lon",
        "lat",
    ]
    good = ["SL1", "70", "850", "2019-05-02", "1", "oui", "Rue A", "C1", "0.1", "49.5"]
    wrong = list(good)
    wrong[0], wrong[rows.index(column)] = "SL2", bad
    write_csv(tmp_path / "lights.csv", rows, [good, wrong], sep=";")
    errors = _failed(run_import(MAPPING.replace("lights.gpkg", "lights.csv")))
    assert len(errors) == 1
    assert errors[0].startswith(f"lights.csv, layer lights, {message}")
    assert count(twin) == 0


def test_one_failed_layer_does_not_stop_the_others(tmp_path, twin, run_import):
    lights(tmp_path)
    write_csv(tmp_path / "cabinets.csv", ["id", "lon", "lat"], [["C1", 0.1, 49.5], ["", 0.2, 49.5]])
    text = (
        MAPPING
        + """
  - file: cabinets.csv
    type: StreetlightControlCabinet
    id_field: id
    id_template: "urn:ngsi-ld:StreetlightControlCabinet:{id}"
"""
    )
    report = run_import(text)
    assert [layer.ok for layer in report.layers] == [True, False]
    assert report.layers[1].errors == ["cabinets.csv, layer cabinets, row 2, field id: missing id"]
    assert count(twin) == 3
    assert count(twin, DEF + "StreetlightControlCabinet") == 0


# -- re-imports -------------------------------------------------------------------------------
def _counts(report):
    layer = report.layers[0]
    assert layer.ok, layer.errors
    return layer.added, layer.changed, layer.unchanged, layer.removed


def test_reimport_is_idempotent_and_reports_changes(tmp_path, twin, run_import):
    lights(tmp_path)
    assert _counts(run_import(MAPPING)) == (3, 0, 0, 0)
    assert _counts(run_import(MAPPING)) == (0, 0, 3, 0)
    before = twin.get("", "urn:ngsi-ld:Streetlight:SL1")
    # one row changed: SL1's power 70 -> 90 W, SL2's cabinet unchanged
    lights(
        tmp_path,
        [
            ("SL1", 90.0, 850, "2019-05-02", 1, "oui", "Rue A", "C1"),
            ("SL2", None, 900, "12/03/2021", 2, "non", "Rue B", "C1"),
            ("SL3", 100.0, None, None, None, None, None, None),
        ],
    )
    assert _counts(run_import(MAPPING)) == (0, 1, 2, 0)
    after = twin.get("", "urn:ngsi-ld:Streetlight:SL1")
    assert value(after, "powerRating") == 90.0
    assert after["createdAt"] == before["createdAt"]
    # only the changed attribute was written
    assert after["attrs"][DEF + "name"] == before["attrs"][DEF + "name"]
    history = twin.store.history(
        "",
        "urn:ngsi-ld:Streetlight:SL1",
        HistoryQuery(attrs=(DEF + "powerRating",), timeproperty="modifiedAt"),
    )
    assert [i["value"] for i in history.attrs[DEF + "powerRating"]] == [70.0, 90.0]
    # one row removed
    lights(
        tmp_path,
        [
            ("SL1", 90.0, 850, "2019-05-02", 1, "oui", "Rue A", "C1"),
            ("SL3", 100.0, None, None, None, None, None, None),
        ],
    )
    assert _counts(run_import(MAPPING)) == (0, 0, 2, 1)
    assert count(twin) == 2
    assert _counts(run_import(MAPPING)) == (0, 0, 2, 0)


def test_an_emptied_cell_removes_the_attribute_and_others_are_kept(tmp_path, twin, run_import):
    lights(tmp_path)
    run_import(MAPPING)
    # a live value written by someone else survives re-imports
    entity_id = "urn:ngsi-ld:Streetlight:SL1"
    import asyncio

    live = {
        "id": entity_id,
        "type": [LIGHT],
        "attrs": {DEF + "powerState": [{"type": "Property", "value": "on"}]},
    }
    asyncio.run(twin.batch("", "upsert", [live], options=frozenset({"update"})))
    lights(
        tmp_path,
        [
            ("SL1", None, 850, "2019-05-02", 1, "oui", "Rue A", "C1"),
            ("SL2", None, 900, "12/03/2021", 2, "non", "Rue B", "C1"),
            ("SL3", 100.0, None, None, None, None, None, None),
        ],
    )
    assert _counts(run_import(MAPPING)) == (0, 1, 2, 0)
    entity = twin.get("", entity_id)
    assert DEF + "powerRating" not in entity["attrs"]
    assert value(entity, "powerState") == "on"
    assert _counts(run_import(MAPPING)) == (0, 0, 3, 0)


def test_removed_features_can_be_marked_instead(tmp_path, twin, run_import):
    mapping = MAPPING + "    on_removed: mark\n"
    lights(tmp_path)
    run_import(mapping)
    lights(tmp_path, [("SL1", 70.0, 850, "2019-05-02", 1, "oui", "Rue A", "C1")])
    assert _counts(run_import(mapping)) == (0, 0, 1, 2)
    assert count(twin) == 3
    marked = twin.get("", "urn:ngsi-ld:Streetlight:SL2")
    assert len(value(marked, "removedFromSource")) == 10  # the import date
    assert _counts(run_import(mapping)) == (0, 0, 1, 0)  # marked once
    lights(tmp_path)  # they come back
    assert _counts(run_import(mapping)) == (0, 2, 1, 0)
    assert DEF + "removedFromSource" not in twin.get("", "urn:ngsi-ld:Streetlight:SL2")["attrs"]


def test_removal_only_touches_the_layer_dataset(tmp_path, twin, run_import):
    lights(tmp_path)
    run_import(MAPPING)
    other = MAPPING.replace("name: lights", "name: other-lights").replace("SIG", "Autre")
    write_layer(tmp_path / "lights.gpkg", [shapely.Point(X, Y)], {"code": ["SL9"]}, layer="lights")
    report = run_import(other.split("    attributes:")[0])
    assert _counts(report) == (1, 0, 0, 0)
    assert count(twin) == 4


def test_tenants_are_separate(tmp_path, twin, run_import):
    lights(tmp_path)
    assert _counts(run_import(MAPPING, tenant="caux")) == (3, 0, 0, 0)
    assert count(twin) == 0
    assert count(twin, tenant="caux") == 3
