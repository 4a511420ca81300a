"""The demo territory: generated as GIS files, then loaded through the real importers.

``hyperville demo`` calls :func:`prepare_demo` before serving: the first run writes the
Caux Seine–like territory (GeoPackage and CSV in Lambert-93, see docs/demo-territory.md)
next to the database and imports it layer by layer, exactly as a GIS team would import its
own files; later runs find the twin populated and start at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hyperville.settings import Settings

DEMO_SEED = 76


@dataclass
class DemoState:
    """What :func:`prepare_demo` found or did."""

    entities: int
    built: bool
    seconds: float
    failed_layers: list[str]


def _entity_count(store) -> int:
    return sum(info.entity_count for info in store.entity_types(""))


def prepare_demo(
    settings: Settings, *, scale: float = 1.0, say: Callable[[str], None] = print
) -> DemoState:
    """Make the demo twin ready in ``settings.db_path``: build it once, reuse it afterwards."""
    from hyperville.api.app import open_store
    from hyperville.gis.importer import Importer
    from hyperville.gis.mapping import load_mapping
    from hyperville.ngsild.context import ContextResolver
    from hyperville.territory import generate_territory
    from hyperville.twin import Twin

    started = time.perf_counter()
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.open()
    try:
        count = _entity_count(store)
        if count:
            return DemoState(count, False, time.perf_counter() - started, [])
        say("first run: generating the demo territory (GeoPackage and CSV, Lambert-93)…")
        files = generate_territory(
            settings.db_path.parent / "demo-territory", seed=DEMO_SEED, scale=scale
        )
        say(f"importing {files.mapping} through the GIS importers…")
        importer = Importer(
            Twin(store), base_dir=files.mapping.parent, contexts=ContextResolver(allow_remote=False)
        )
        report = asyncio.run(importer.run(load_mapping(files.mapping)))
        failed = [layer.dataset for layer in report.layers if not layer.ok]
        for layer in report.layers:
            state = "ok" if layer.ok else "FAILED: " + "; ".join(layer.errors[:3])
            say(f"  {layer.dataset:<24} {layer.added:>7,} entities  {state}")
        store.analyze()
        return DemoState(_entity_count(store), True, time.perf_counter() - started, failed)
    finally:
        store.close()


def demo_files_dir(settings: Settings) -> Path:
    return settings.db_path.parent / "demo-territory"
