"""The ``hyperville`` command line, without starting a real server."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hyperville import cli
from hyperville.settings import Settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("HYPERVILLE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # var/… paths land in the temporary directory


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Settings, bool]]:
    """Replace the server by a recorder of what it would have served."""
    calls: list[tuple[Settings, bool]] = []

    def fake_run_server(settings: Settings, *, access_log: bool = False) -> None:
        calls.append((settings, access_log))

    monkeypatch.setattr(cli, "_run_server", fake_run_server)
    return calls


def test_version() -> None:
    result = runner.invoke(cli.app, ["version"])
    assert result.exit_code == 0
    assert result.stdout == f"hyperville {importlib.metadata.version('hyperville')}\n"


def test_config_validate_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "very-secret-value")
    config = tmp_path / "c.yaml"
    config.write_text("port: ${HV_TEST_PORT:-9123}\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["config", "validate", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "configuration OK"
    for name in Settings.model_fields:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert any(line.split() == ["port", "9123"] for line in lines)
    assert "very-secret-value" not in result.output
    assert "********" in result.stdout


def test_config_validate_refuses_default_secret() -> None:
    result = runner.invoke(cli.app, ["config", "validate"])
    assert result.exit_code == 2
    assert "configuration OK" not in result.stdout
    assert "HYPERVILLE_SECRET_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_validate_bad_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "s")
    config = tmp_path / "c.yaml"
    config.write_text("port: [\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["config", "validate", "-c", str(config)])
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.output


def test_config_validate_unknown_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "s")
    config = tmp_path / "c.yaml"
    config.write_text("prot: 1\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["config", "validate", "-c", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith("hyperville: configuration error: prot:")


def test_serve_config_error_is_one_line(
    served: list[tuple[Settings, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "s")
    result = runner.invoke(cli.app, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "hyperville: configuration error: port: Input should be greater than or equal to 1"
    ]
    assert served == []


def test_serve_passes_options(
    served: list[tuple[Settings, bool]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "s")
    args = ["serve", "--db", "x.sqlite", "--host", "0.0.0.0", "--port", "9999"]
    args += ["--context-cache", str(tmp_path), "--log-level", "DEBUG", "--access-log"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    [(settings, access_log)] = served
    assert settings.db_path == Path("x.sqlite")
    assert (settings.host, settings.port) == ("0.0.0.0", 9999)
    assert settings.context_cache_dir == tmp_path
    assert settings.log_level == "debug"
    assert settings.demo_mode is False
    assert access_log is True


def test_demo_prints_addresses_and_accepts_default_secret(
    served: list[tuple[Settings, bool]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hyperville.demo

    def quick_demo(settings: Settings, **kwargs: Any) -> hyperville.demo.DemoState:
        settings.db_path.parent.mkdir(
            parents=True, exist_ok=True
        )  # tests/test_demo.py: the real one
        return hyperville.demo.DemoState(0, False, 0.0, [])

    monkeypatch.setattr(hyperville.demo, "prepare_demo", quick_demo)
    result = runner.invoke(cli.app, ["demo", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8765/\n" in result.stdout
    assert "http://127.0.0.1:8765/ngsi-ld/v1/entities" in result.stdout
    [(settings, access_log)] = served
    assert settings.demo_mode is True
    assert settings.db_path == Path("var/demo.sqlite")
    assert (tmp_path / "var").is_dir()
    assert access_log is False


def test_run_server_builds_uvicorn_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    fake_app = object()

    def create_app(settings: Settings) -> object:
        seen["settings"] = settings
        return fake_app

    class FakeServer:
        def __init__(self, config: uvicorn.Config) -> None:
            seen["config"] = config

        def run(self) -> None:
            seen["ran"] = True

    module = types.ModuleType("hyperville.api.app")
    module.create_app = create_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hyperville.api.app", module)
    monkeypatch.setattr(uvicorn, "Server", FakeServer)
    settings = Settings(db_path=tmp_path / "d" / "t.sqlite", port=8099, demo_mode=True)
    cli._run_server(settings)
    config = seen["config"]
    assert seen["ran"] and seen["settings"] is settings
    assert config.app is fake_app
    assert (config.host, config.port, config.access_log) == ("127.0.0.1", 8099, False)
    assert config.loop == ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    assert config.http == ("httptools" if importlib.util.find_spec("httptools") else "h11")
    assert (tmp_path / "d").is_dir()


def test_config_validate_masks_the_mqtt_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "very-secret-value")
    monkeypatch.setenv("HYPERVILLE_MQTT_URL", "mqtts://ingest:broker-pass@mqtt.example:8883")
    result = runner.invoke(cli.app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert "broker-pass" not in result.output
    assert "mqtts://ingest:********@mqtt.example:8883" in result.stdout


@pytest.mark.parametrize(
    "url", ["mqtt://a b:1883", "http://host:1883", "mqtt://host:1883/topic", "mqtt://@:1883"]
)
def test_config_validate_refuses_a_malformed_mqtt_url(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "very-secret-value")
    monkeypatch.setenv("HYPERVILLE_MQTT_URL", url)
    result = runner.invoke(cli.app, ["config", "validate"])
    assert result.exit_code != 0 and "mqtt_url" in result.output
