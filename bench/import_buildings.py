"""Benchmark: import 30,000 building footprints from a Lambert-93 GeoPackage into a fresh twin.

Standalone (not part of bench/run.py)::

    python bench/import_buildings.py [--count 30000] [--keep DIR] [--seed 42]

It generates, deterministically, ``count`` rectangular footprints (rotated, 6–30 m a side)
with a height in metres and a use, around Bolbec / Lillebonne in EPSG:2154, writes them to a
GeoPackage with pyogrio, then times ``hyperville.gis.importer`` reading, reprojecting,
validating and upserting them into a new SQLite twin. A second import of the same file
(everything unchanged) is timed too. Target: the first import in < 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from hyperville.gis.importer import Importer
from hyperville.gis.mapping import parse_mapping
from hyperville.store.sqlite import SQLiteStore
from hyperville.twin import Twin

TARGET_S = 15.0
USES = np.array(["residential", "commercial", "industrial", "office", "school", "church"])
MAPPING = """
layers:
  - name: buildings
    file: buildings.gpkg
    layer: batiments
    type: Building
    id_field: id_bat
    id_template: "urn:ngsi-ld:Building:{id}"
    attributes:
      height: {field: hauteur, type: number, unitCode: MTR}
      category: {field: usage, type: string}
      floorsAboveGround: {field: nb_etages, type: integer}
    provenance: {source: "BD TOPO (generated)", date: 2026-06-15, licence: "Licence Ouverte 2.0"}
"""


def make_gpkg(path: Path, count: int, seed: int) -> None:
    """``count`` rotated rectangles in Lambert-93 around x 510 000, y 6 950 000."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(500_000, 520_000, count)
    cy = rng.uniform(6_940_000, 6_960_000, count)
    w = rng.uniform(6, 30, count) / 2
    h = rng.uniform(6, 30, count) / 2
    angle = rng.uniform(0, np.pi, count)
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
    dx = corners[None, :, 0] * w[:, None]
    dy = corners[None, :, 1] * h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    xs = cx[:, None] + dx * cos - dy * sin
    ys = cy[:, None] + dx * sin + dy * cos
    rings = np.stack((xs, ys), axis=-1)
    polygons = shapely.polygons(rings)
    height = np.round(rng.uniform(3, 25, count), 1)
    fields = [
        np.array([f"BAT{i:06d}" for i in range(count)], dtype=object),
        height,
        USES[rng.integers(0, len(USES), count)].astype(object),
        np.maximum(1, (height // 3)).astype(np.int32),
    ]
    pyogrio.raw.write(
        path,
        shapely.to_wkb(polygons),
        field_data=fields,
        fields=["id_bat", "hauteur", "usage", "nb_etages"],
        crs="EPSG:2154",
        geometry_type="Polygon",
        driver="GPKG",
        layer="batiments",
    )


async def _import(twin: Twin, folder: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    report = await Importer(twin, base_dir=folder).run(parse_mapping(MAPPING))
    return time.perf_counter() - started, report.layers[0].__dict__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="keep the GeoPackage and the twin in DIR")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hv-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        gpkg = folder / "buildings.gpkg"
        gpkg.unlink(missing_ok=True)
        started = time.perf_counter()
        make_gpkg(gpkg, args.count, args.seed)
        print(f"generated {args.count:,} footprints in {time.perf_counter() - started:.1f} s")
        db = folder / "twin.sqlite"
        for leftover in folder.glob("twin.sqlite*"):
            leftover.unlink()
        store = SQLiteStore(db)
        store.open()
        try:
            twin = Twin(store)
            first, outcome = asyncio.run(_import(twin, folder))
            again, outcome2 = asyncio.run(_import(twin, folder))
        finally:
            store.close()
        if outcome["errors"] or outcome["added"] != args.count:
            print(f"import failed: {outcome}", file=sys.stderr)
            return 1
        rate = args.count / first
        verdict = "met" if first < TARGET_S else "NOT MET"
        print(
            f"first import: {first:.2f} s, {rate:,.0f} features/s "
            f"(target < {TARGET_S:.0f} s: {verdict})"
        )
        print(
            f"re-import (unchanged {outcome2['unchanged']:,}): {again:.2f} s, "
            f"{args.count / again:,.0f} features/s"
        )
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
