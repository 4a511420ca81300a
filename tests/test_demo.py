"""``hyperville demo`` builds its twin through the real generator and importers, then reuses it."""

from __future__ import annotations

from hyperville.demo import prepare_demo
from hyperville.settings import Settings


def test_demo_builds_once_then_reuses(tmp_path):
    settings = Settings(db_path=tmp_path / "demo.sqlite", demo_mode=True)
    lines: list[str] = []
    first = prepare_demo(settings, scale=0.05, say=lines.append)
    assert first.built and not first.failed_layers, lines
    assert first.entities > 500
    assert (tmp_path / "demo-territory" / "territory.gpkg").exists()
    again = prepare_demo(settings, scale=0.05, say=lines.append)
    assert not again.built and again.entities == first.entities
    assert again.seconds < 5
