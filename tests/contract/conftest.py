"""Every store backend runs the same contract tests: add a backend to BACKENDS to enrol it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hyperville.store.base import EntityStore


def _sqlite(tmp_path: Path) -> EntityStore:
    from hyperville.store.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "contract.sqlite", batch_max=64)


BACKENDS: dict[str, Callable[[Path], EntityStore]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def make_store(request, tmp_path: Path) -> Iterator[Callable[[], EntityStore]]:
    """A factory of opened stores on the same database (reopening tests persistence)."""
    opened: list[EntityStore] = []

    def factory() -> EntityStore:
        store = BACKENDS[request.param](tmp_path)
        store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store) -> EntityStore:
    return make_store()
