"""Readers: every format and CRS, checked against pyproj; CSV delimiters and encodings."""

from __future__ import annotations

import pytest
import shapely
from gis_files import LE_HAVRE_L93, to_wgs84, write_csv, write_layer

from hyperville.gis.mapping import CsvOptions
from hyperville.gis.readers import LayerError, read_layer

X, Y = LE_HAVRE_L93


def _point(data, i=0):
    geom = data.geometries[i]
    return round(geom.x, 7), round(geom.y, 7)


def test_the_oracle_is_le_havre():
    lon, lat = to_wgs84(X, Y)
    assert lon == pytest.approx(0.1072, abs=0.001) and lat == pytest.approx(49.4939, abs=0.001)


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_lambert93_files_are_reprojected(tmp_path, suffix):
    path = write_layer(
        tmp_path / f"mairie{suffix}",
        [shapely.Point(X, Y), shapely.Point(X + 1000, Y + 500)],
        {"code": ["HV", "B"], "height": [12.5, None]},
    )
    data = read_layer(path, path.name, fields=["code", "height"])
    assert data.source_crs == "EPSG:2154"
    assert data.count == 2
    assert _point(data) == to_wgs84(X, Y)
    assert _point(data, 1) == to_wgs84(X + 1000, Y + 500)
    assert data.columns["code"] == ["HV", "B"]
    assert data.columns["height"] == [12.5, None]


def test_polygons_are_reprojected_vertex_by_vertex(tmp_path):
    square = shapely.box(X, Y, X + 20, Y + 10)
    path = write_layer(tmp_path / "bati.gpkg", [square], {"id": ["B1"]}, layer="batiments")
    data = read_layer(path, "bati.gpkg", fields=["id"])
    assert data.layer == "batiments"
    got = list(data.geometries[0].exterior.coords)
    want = [to_wgs84(x, y) for x, y in square.exterior.coords]
    assert len(got) == len(want)
    for (lon, lat), (want_lon, want_lat) in zip(got, want, strict=True):
        assert (lon, lat) == (pytest.approx(want_lon, abs=1e-7), pytest.approx(want_lat, abs=1e-7))


def test_geojson_in_wgs84_is_kept(tmp_path):
    path = write_layer(
        tmp_path / "pts.geojson", [shapely.Point(0.1072, 49.4939)], {"id": ["a"]}, crs="EPSG:4326"
    )
    data = read_layer(path, "pts.geojson", fields=["id"])
    assert data.source_crs == "EPSG:4326"
    assert _point(data) == (0.1072, 49.4939)


def test_source_crs_overrides_a_shapefile_without_prj(tmp_path):
    path = write_layer(tmp_path / "noprj.shp", [shapely.Point(X, Y)], {"code": ["a"]})
    path.with_suffix(".prj").unlink()
    with pytest.raises(LayerError) as caught:
        read_layer(path, "noprj.shp", fields=["code"])
    assert str(caught.value) == (
        "noprj.shp, layer noprj: the file has no CRS: give source_crs in the mapping"
    )
    data = read_layer(path, "noprj.shp", fields=["code"], source_crs="EPSG:2154")
    assert _point(data) == to_wgs84(X, Y)


def test_unknown_crs(tmp_path):
    path = write_layer(tmp_path / "a.gpkg", [shapely.Point(X, Y)], {"code": ["a"]}, layer="a")
    with pytest.raises(LayerError) as caught:
        read_layer(path, "a.gpkg", fields=["code"], source_crs="EPSG:999999")
    assert str(caught.value) == "a.gpkg, layer a: unknown CRS 'EPSG:999999'"


def test_a_wrong_crs_is_caught_by_the_range_check(tmp_path):
    # Lambert-93 metres declared as degrees
    path = write_layer(tmp_path / "w.gpkg", [shapely.Point(X, Y)], {"c": ["a"]}, layer="w")
    data = read_layer(path, "w.gpkg", fields=["c"], source_crs="EPSG:4326")
    assert [p.render("w.gpkg", "w") for p in data.problems] == [
        "w.gpkg, layer w, row 1, field geometry: coordinates out of range after reprojection "
        "from EPSG:4326 to WGS84 (wrong CRS? set source_crs in the mapping)"
    ]


def test_several_layers_need_a_name(tmp_path):
    path = tmp_path / "multi.gpkg"
    write_layer(path, [shapely.Point(X, Y)], {"c": ["a"]}, layer="one")
    write_layer(path, [shapely.Point(X, Y)], {"c": ["a"]}, layer="two")
    with pytest.raises(LayerError, match=r"several layers \['one', 'two'\]"):
        read_layer(path, "multi.gpkg", fields=["c"])
    with pytest.raises(LayerError) as caught:
        read_layer(path, "multi.gpkg", layer="three", fields=["c"])
    assert (
        str(caught.value) == "multi.gpkg, layer three: no such layer; the file has: ['one', 'two']"
    )
    assert read_layer(path, "multi.gpkg", layer="two", fields=["c"]).layer == "two"


def test_csv_comma_utf8_lon_lat(tmp_path):
    path = write_csv(
        tmp_path / "pav.csv",
        ["id", "nom", "lon", "lat"],
        [["P1", "Hôtel de Ville", "0.1072", "49.4939"], ["P2", "Gare", "", ""]],
    )
    data = read_layer(path, "pav.csv")
    assert (data.delimiter, data.encoding, data.source_crs) == (",", "utf-8", "EPSG:4326")
    assert data.columns["nom"] == ["Hôtel de Ville", "Gare"]
    assert _point(data) == (0.1072, 49.4939)
    assert data.geometries[1] is None


def test_csv_semicolon_latin1_lambert93_with_decimal_commas(tmp_path):
    path = write_csv(
        tmp_path / "bornes.csv",
        ["code", "libellé", "X", "Y"],
        [
            ["B1", "Église Notre-Dame", "490390,0", "6936570,0"],
            ["B2", "Préfecture", 491250, 6929100],
        ],
        sep=";",
        encoding="latin-1",
    )
    data = read_layer(path, "bornes.csv", source_crs="EPSG:2154")
    assert (data.delimiter, data.encoding, data.source_crs) == (";", "latin-1", "EPSG:2154")
    assert data.fields == ["code", "libellé", "X", "Y"]
    assert data.columns["libellé"] == ["Église Notre-Dame", "Préfecture"]
    assert _point(data) == to_wgs84(X, Y)
    assert _point(data, 1) == to_wgs84(491250, 6929100)


def test_csv_x_y_columns_need_a_crs(tmp_path):
    path = write_csv(tmp_path / "xy.csv", ["code", "x", "y"], [["a", X, Y]], sep=";")
    with pytest.raises(LayerError) as caught:
        read_layer(path, "xy.csv")
    assert str(caught.value) == (
        "xy.csv, layer xy: unknown CRS of columns x/y: give source_crs in the mapping (EPSG:2154)"
    )


def test_csv_named_columns_and_bad_coordinates(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["ref", "E", "N"], [["a", X, Y], ["b", "n/a", Y]], sep=";")
    data = read_layer(path, "c.csv", source_crs="EPSG:2154", csv_options=CsvOptions(x="E", y="N"))
    assert _point(data) == to_wgs84(X, Y)
    assert [p.render("c.csv", "c") for p in data.problems] == [
        "c.csv, layer c, row 2, field E: broken geometry: 'n/a' is not a coordinate"
    ]


def test_csv_wkt_column(tmp_path):
    path = write_csv(
        tmp_path / "w.csv", ["id", "wkt"], [["z", '"POLYGON ((0 49, 0.1 49, 0.1 49.1, 0 49))"']]
    )
    data = read_layer(path, "w.csv")
    assert data.geometries[0].geom_type == "Polygon"
    assert data.source_crs == "EPSG:4326"
