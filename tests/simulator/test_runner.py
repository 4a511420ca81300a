"""The runner end to end: a real server, a small territory, HTTP (and MQTT when a broker runs)."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest

from hyperville.simulator.devices import load_devices
from hyperville.simulator.runner import backfill_times, iso, simulate
from hyperville.territory import generate_territory
from hyperville.testing import live_server, port_open, require_component

BROKER_URL = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    out = tmp_path_factory.mktemp("territory")
    generate_territory(out, scale=0.05)
    return out


def history(url: str, entity_id: str, attr: str, after: float) -> list[dict]:
    answer = httpx.get(
        f"{url}/ngsi-ld/v1/temporal/entities/{quote(entity_id, safe='')}",
        params={"timerel": "after", "timeAt": iso(after), "attrs": attr, "lastN": 1000},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    instances = answer.json().get(attr, [])
    return instances if isinstance(instances, list) else [instances]


def test_backfill_and_live_over_http(territory, tmp_path):
    devices = load_devices(territory)
    assert {d.kind for d in devices} >= {"station_parking", "weather", "fill_glass"}
    lines: list[str] = []
    with live_server(tmp_path / "twin.sqlite") as server:
        start = time.time()
        out = simulate(url=server.url, territory_dir=territory, backfill_days=2,
                       duration_s=0, say=lines.append)  # fmt: skip
        first_done = time.time()
        stats = out["backfill"]
        assert stats.errors == 0, stats.problems
        hourly = [d for d in devices if d.kind != "telemanaged_light"]  # lights: on change
        assert stats.readings >= len(hourly) * 47 + (len(devices) - len(hourly)) * 7
        # provisioning again is a no-op and the backfill is recognised as already there
        again = simulate(url=server.url, territory_dir=territory, backfill_days=2,
                         only="weather", duration_s=0, say=lines.append)  # fmt: skip
        assert "1 devices (0 provisioned now)" in " ".join(lines)
        # the hourly readings are duplicates, written once; only the reading at the new end
        # of the backfill (the station's state now) is new, and the hourly one of a full hour
        # passed between the two runs
        (weather,) = [d for d in devices if d.kind == "weather"]
        crossed_an_hour = time.time() // 3600 != first_done // 3600
        assert again["backfill"].points == len(weather.attributes) * (1 + crossed_an_hour)

        park = "urn:ngsi-ld:OffStreetParking:PK-GARE-01"
        entity = httpx.get(f"{server.ngsi_ld}/entities/{park}", timeout=10).json()
        assert isinstance(entity["occupiedSpotNumber"]["value"], int)
        past = history(server.url, park, "occupiedSpotNumber", start - 3 * 86400)
        assert len(past) >= 47  # one an hour over two days
        assert len({i["observedAt"] for i in past}) == len(past)

        # live, fast: 30 simulated minutes in 3 s; the weather station reports every 10 min
        live = simulate(url=server.url, territory_dir=territory, only="weather", speed=600,
                        duration_s=3, say=lines.append)["live"]  # fmt: skip
        assert live.readings >= 2 and live.errors == 0
        meteo = "urn:ngsi-ld:WeatherObserved:METEO-PJS-01"
        recent = history(server.url, meteo, "temperature", time.time() - 60)
        assert len(recent) >= 2


def test_live_over_mqtt(territory, tmp_path):
    require_component(port_open("127.0.0.1", 1883), "Mosquitto is not running on 127.0.0.1:1883")
    lines: list[str] = []
    env = {"HYPERVILLE_MQTT_URL": BROKER_URL}
    with live_server(tmp_path / "twin.sqlite", env=env) as server:
        live = simulate(url=server.url, territory_dir=territory, only="traffic_counter",
                        mqtt_url=BROKER_URL, speed=300, duration_s=3,
                        say=lines.append)["live"]  # fmt: skip
        assert any("by MQTT" in line for line in lines), lines
        assert live.readings >= 20 and live.errors == 0
        counter = "urn:ngsi-ld:TrafficFlowObserved:CPT-01"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = httpx.get(f"{server.ngsi_ld}/entities/{counter}", timeout=10).json()
            if "intensity" in got:
                break
            time.sleep(0.2)
        assert "intensity" in got


def test_mqtt_falls_back_to_http_when_no_broker_answers(territory, tmp_path):
    lines: list[str] = []
    with live_server(tmp_path / "twin.sqlite") as server:
        live = simulate(url=server.url, territory_dir=territory, only="recycling_gate",
                        mqtt_url="mqtt://127.0.0.1:9", speed=900, duration_s=2,
                        say=lines.append)["live"]  # fmt: skip
    assert any("sending over HTTP" in line for line in lines), lines
    assert live.readings >= 5 and live.errors == 0


def test_backfill_grid():
    times = backfill_times(1, 3600, 7200.5 + 86400)
    assert len(times) == 24 and times[-1] == 86400 + 7200 and all(t % 3600 == 0 for t in times)


def test_simulate_command(territory, tmp_path):
    from typer.testing import CliRunner

    from hyperville.cli import app

    with live_server(tmp_path / "twin.sqlite") as server:
        args = ["simulate", "--url", server.url, "--territory", str(territory),
                "--only", "recycling_gate", "--backfill-days", "1", "--duration", "0"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "5 devices (5 provisioned now)" in result.output
        assert "0 errors" in result.output
    missing = CliRunner().invoke(app, ["simulate", "--territory", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "sensors.csv not found" in missing.output
