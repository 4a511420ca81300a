"""An in-process client on a fresh SQLite twin, for API tests."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hyperville.api.app import create_app
from hyperville.settings import Settings


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    settings = Settings(db_path=tmp_path / "api.sqlite", max_body_bytes=64 * 1024)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
