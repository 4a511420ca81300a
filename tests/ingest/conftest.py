"""Fixtures of the ingestion tests: a fresh twin over SQLite, devices, the real broker."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from hyperville.api.app import create_app
from hyperville.settings import Settings
from hyperville.testing import port_open, require_component

BROKER = ("127.0.0.1", 1883)
WEBHOOK_TOKEN = "webhook-token-for-tests-0123456789"


def broker_up() -> bool:
    return port_open(*BROKER)


@pytest.fixture
def need_broker() -> None:
    """The real Mosquitto: missing fails in CI, skips elsewhere."""
    require_component(broker_up(), f"Mosquitto is not running on {BROKER[0]}:{BROKER[1]}")


@pytest.fixture
def tenant() -> str:
    return "t" + uuid.uuid4().hex[:10]


def make_client(tmp_path, monkeypatch, **overrides) -> TestClient:
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    settings = Settings(
        db_path=tmp_path / "ingest.sqlite", ingest_webhook_token=WEBHOOK_TOKEN, **overrides
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def api(tmp_path, monkeypatch):
    with make_client(tmp_path, monkeypatch) as client:
        yield client


def provision(client, tenant: str, device_id: str = "th-1", **spec) -> str:
    """Provision a device (temperature, humidity, count); returns its token."""
    body = {
        "deviceId": device_id,
        "entityType": "AirQualityObserved",
        "mapping": {
            "temp": {"attr": "temperature", "unit": "CEL"},
            "hum": {"attr": "relativeHumidity", "scale": 0.01},
            "count": {"attr": "peopleCount"},
            "state": {"attr": "status", "type": "string"},
        },
        **spec,
    }
    answer = client.post("/api/v1/devices", json=body, headers={"NGSILD-Tenant": tenant})
    assert answer.status_code == 201, answer.text
    return answer.json()[0]["token"]


def entity(client, tenant: str, device_id: str = "th-1") -> dict:
    answer = client.get(
        f"/ngsi-ld/v1/entities/urn:ngsi-ld:Device:{device_id}", headers={"NGSILD-Tenant": tenant}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()
