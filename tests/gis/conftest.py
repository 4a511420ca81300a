"""A fresh SQLite twin and an import runner for the GIS tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from hyperville.gis.importer import Importer, ImportReport
from hyperville.gis.mapping import parse_mapping
from hyperville.store.sqlite import SQLiteStore
from hyperville.twin import Twin


@pytest.fixture
def twin(tmp_path):
    store = SQLiteStore(tmp_path / "twin.sqlite")
    store.open()
    yield Twin(store)
    store.close()


@pytest.fixture
def run_import(twin, tmp_path) -> Callable[..., ImportReport]:
    """run_import(mapping_yaml, tenant="") -> ImportReport, files relative to tmp_path."""

    def run(text: str, tenant: str = "") -> ImportReport:
        importer = Importer(twin, tenant=tenant, base_dir=tmp_path)
        return asyncio.run(importer.run(parse_mapping(text)))

    return run
