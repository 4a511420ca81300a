"""``hyperville import``, ``hyperville twin report`` and their HTTP routes."""

from __future__ import annotations

import json

import pytest
import shapely
from gis_files import LE_HAVRE_L93, write_csv, write_layer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from hyperville.api.app import create_app
from hyperville.cli import app
from hyperville.settings import Settings

X, Y = LE_HAVRE_L93
MAPPING = """
layers:
  - name: cabinets
    file: cabinets.gpkg
    type: StreetlightControlCabinet
    id_field: code
    id_template: "urn:ngsi-ld:StreetlightControlCabinet:{id}"
    attributes:
      name: nom
    provenance: {source: "SIG", date: 2026-10-01, licence: "Licence Ouverte 2.0"}
"""


@pytest.fixture
def files(tmp_path):
    write_layer(
        tmp_path / "cabinets.gpkg",
        [shapely.Point(X, Y), shapely.Point(X + 100, Y), None],
        {"code": ["C1", "C2", "C3"], "nom": ["Armoire 1", None, "Armoire 3"]},
        layer="armoires",
    )
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return tmp_path


def test_cli_import_then_report(files):
    runner = CliRunner()
    db = str(files / "cli.sqlite")
    args = ["import", str(files / "mapping.yaml"), "--db", db]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "cabinets" in first.stdout and "EPSG:2154" in first.stdout
    row = next(line for line in first.stdout.splitlines() if "cabinets" in line)
    assert [c.strip() for c in row.split("│")[3:8]] == ["3", "3", "0", "0", "0"]
    second = runner.invoke(app, args)
    row = next(line for line in second.stdout.splitlines() if "cabinets" in line)
    assert [c.strip() for c in row.split("│")[3:8]] == ["3", "0", "0", "3", "0"]
    report = runner.invoke(app, ["twin", "report", "--db", db, "--json"])
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    assert body["entities"] == 3
    assert body["without_geometry"] == ["urn:ngsi-ld:StreetlightControlCabinet:C3"]
    table = runner.invoke(app, ["twin", "report", "--db", db])
    assert table.exit_code == 0
    assert "StreetlightControlCabinet" in table.stdout and "66.7%" in table.stdout


def test_cli_import_failure_names_the_row(files):
    write_csv(files / "bad.csv", ["code", "nom", "lon", "lat"], [["", "x", 0.1, 49.5]])
    (files / "bad.yaml").write_text(MAPPING.replace("cabinets.gpkg", "bad.csv"), encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(files / "bad.yaml"), "--db", str(files / "b")])
    assert result.exit_code == 1
    assert "bad.csv, layer bad, row 1, field code: missing id" in result.stderr
    assert "FAILED" in result.stdout


def test_cli_refuses_a_bad_mapping(files):
    (files / "m.yaml").write_text("layers: [{file: a.gpkg}]", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(files / "m.yaml"), "--db", str(files / "d")])
    assert result.exit_code == 2
    assert "layers.0.type: Field required" in result.stderr


@pytest.fixture
def api(files, monkeypatch):
    monkeypatch.setenv("HYPERVILLE_IMPORT_DIR", str(files))
    settings = Settings(db_path=files / "api.sqlite", demo_mode=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_api_import_and_report(api):
    response = api.post("/api/v1/imports", json={"mapping": MAPPING})
    assert response.status_code == 200, response.text
    layer = response.json()["layers"][0]
    assert (layer["added"], layer["source_crs"], layer["layer"]) == (3, "EPSG:2154", "armoires")
    again = api.post("/api/v1/imports", json={"mapping": MAPPING}).json()["layers"][0]
    assert (again["added"], again["unchanged"]) == (0, 3)
    report = api.get("/api/v1/twin/report", params={"bbox": "0,49,0.2,50"})
    assert report.status_code == 200
    body = report.json()
    assert body["territory"]["source"] == "bbox"
    assert body["types"][0]["attributes"] == [
        {"attribute": "location", "filled": 2, "share": 2 / 3},
        {"attribute": "name", "filled": 2, "share": 2 / 3},
        {"attribute": "source", "filled": 3, "share": 1.0},
    ]
    listed = api.get("/ngsi-ld/v1/entities", params={"type": "StreetlightControlCabinet"})
    assert len(listed.json()) == 3


def test_api_import_errors(api):
    outside = MAPPING.replace("cabinets.gpkg", "../elsewhere.gpkg")
    response = api.post("/api/v1/imports", json={"mapping": outside})
    assert response.status_code == 422
    assert response.json()["layers"][0]["errors"] == [
        "../elsewhere.gpkg, layer elsewhere: the file is outside the import directory"
    ]
    response = api.post("/api/v1/imports", json={"mapping": "layers: []"})
    assert response.status_code == 400
    assert "layers: List should have at least 1 item" in response.json()["detail"]
    assert api.post("/api/v1/imports", json={"yaml": "x"}).status_code == 400
    assert api.get("/api/v1/twin/report", params={"bbox": "1,2"}).status_code == 400
    assert api.get("/api/v1/twin/report", params={"tpye": "x"}).status_code == 400
