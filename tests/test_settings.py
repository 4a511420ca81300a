"""Settings: sources and their precedence, ${VAR} interpolation, validation, documentation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from hyperville.settings import (
    DEFAULT_SECRET,
    ConfigError,
    Settings,
    interpolate_env,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HYPERVILLE_* variable of the caller leaks in; a non-default secret is set."""
    for name in list(os.environ):
        if name.upper().startswith("HYPERVILLE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HYPERVILLE_SECRET_KEY", "test-secret")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hyperville.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- sources and precedence: defaults < YAML < environment < overrides ----------------------


def test_defaults() -> None:
    settings = load_settings()
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.db_path == Path("var/hyperville.sqlite")
    assert settings.store_url is None
    assert settings.demo_mode is False


def test_yaml_beats_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "port: 9000\nlog_level: debug\n"))
    assert settings.port == 9000
    assert settings.log_level == "debug"


def test_env_beats_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_PORT", "9100")
    settings = load_settings(write(tmp_path, "port: 9000\nmax_limit: 50\n"))
    assert settings.port == 9100
    assert settings.max_limit == 50  # not in the environment: the YAML value stays


def test_overrides_beat_env_and_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_PORT", "9100")
    settings = load_settings(write(tmp_path, "port: 9000\n"), port=9200)
    assert settings.port == 9200


def test_none_override_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_HOST", "0.0.0.0")
    settings = load_settings(write(tmp_path, "port: 9000\n"), port=None, host=None)
    assert settings.port == 9000
    assert settings.host == "0.0.0.0"


def test_env_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERVILLE_ALLOW_REMOTE_CONTEXTS", "false")
    monkeypatch.setenv("HYPERVILLE_CONTEXT_FETCH_TIMEOUT_S", "1.5")
    monkeypatch.setenv("HYPERVILLE_CONTEXT_CACHE_DIR", "/tmp/contexts")
    settings = load_settings()
    assert settings.allow_remote_contexts is False
    assert settings.context_fetch_timeout_s == 1.5
    assert settings.context_cache_dir == Path("/tmp/contexts")


def test_empty_yaml_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "# nothing\n")).port == 8080


# --- ${VAR} and ${VAR:-default} ---------------------------------------------------------------


def test_interpolate_env() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate_env("${A}/${B:-two}/${C:-}/${EMPTY}", env) == "1/two//"
    assert interpolate_env("${EMPTY:-x}", env) == "x"  # as in the shell: empty takes the default
    assert interpolate_env("$A ${A:-9}", env) == "$A 1"


def test_yaml_interpolation_default_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "port: ${HV_TEST_PORT:-9001}\nsecret_key: ${HV_TEST_SECRET}\n")
    monkeypatch.delenv("HYPERVILLE_SECRET_KEY")
    monkeypatch.delenv("HV_TEST_PORT", raising=False)
    monkeypatch.setenv("HV_TEST_SECRET", "from-env")
    settings = load_settings(path)
    assert settings.port == 9001
    assert settings.secret_key.get_secret_value() == "from-env"
    monkeypatch.setenv("HV_TEST_PORT", "9002")
    assert load_settings(path).port == 9002


def test_missing_variable_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HV_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError, match="HV_TEST_UNSET"):
        load_settings(write(tmp_path, "store_url: ${HV_TEST_UNSET}\n"))


# --- errors -------------------------------------------------------------------------------------


def test_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "port: [9000\n"))


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- port\n- 9000\n"))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


def test_unknown_key_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prot"):
        load_settings(write(tmp_path, "prot: 9000\n"))


def test_unknown_override_rejected() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        load_settings(bogus=1)


@pytest.mark.parametrize("value", ["0", "70000", "http"])
def test_invalid_port(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HYPERVILLE_PORT", value)
    with pytest.raises(ConfigError, match="port"):
        load_settings()


def test_default_limit_cannot_exceed_max_limit() -> None:
    with pytest.raises(ConfigError, match="default_limit"):
        load_settings(default_limit=50, max_limit=10)


def test_empty_host_rejected() -> None:
    with pytest.raises(ConfigError, match="host"):
        load_settings(host="  ")


# --- the default secret --------------------------------------------------------------------------


def test_default_secret_refused_outside_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERVILLE_SECRET_KEY")
    monkeypatch.delenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="HYPERVILLE_SECRET_KEY"):
        load_settings()
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(secret_key=DEFAULT_SECRET)


def test_default_secret_accepted_in_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERVILLE_SECRET_KEY")
    settings = load_settings(demo_mode=True)
    assert settings.secret_key.get_secret_value() == DEFAULT_SECRET


def test_allow_default_secret_variable_bypasses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERVILLE_SECRET_KEY")
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    assert load_settings().secret_key.get_secret_value() == DEFAULT_SECRET


def test_secret_is_masked() -> None:
    settings = load_settings()
    assert "test-secret" not in repr(settings)
    assert "test-secret" not in str(settings.model_dump())


# --- documentation is tested ---------------------------------------------------------------------


@pytest.mark.parametrize("doc", ["README.md", "docs/configuration.md", "docs/fr/configuration.md"])
def test_every_setting_is_documented(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = [
        name
        for name in Settings.model_fields
        if f"`{name}`" not in text or f"`HYPERVILLE_{name.upper()}`" not in text
    ]
    assert not missing, f"{doc} does not document: {', '.join(missing)}"


def test_reader_threads_default_to_the_cores_at_least_two(monkeypatch, tmp_path):
    from hyperville.api.app import reader_threads

    base = {"db_path": tmp_path / "t.sqlite", "demo_mode": True}
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert reader_threads(Settings(**base)) == 2
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert reader_threads(Settings(**base)) == 6
    assert reader_threads(Settings(**base, reader_threads=3)) == 3
    with pytest.raises(ValidationError):
        Settings(**base, reader_threads=-1)
