"""One typed settings object for the whole process.

Sources, later ones winning: defaults, an optional YAML file (``--config FILE``), environment
variables ``HYPERVILLE_*``, then explicit overrides (CLI options). The YAML file may use
``${VAR}`` and ``${VAR:-default}`` to read the environment. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

DEFAULT_SECRET = "change-me-hyperville-demo-secret"
BASEMAPS = ("twin", "ign-plan", "osm")  # the named basemaps; anything else is a URL template

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The configuration file or values are wrong; the message says where."""


class Settings(BaseSettings):
    """Every setting of a hyperville process, validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="HYPERVILLE_", extra="forbid")

    db_path: Path = Field(
        Path("var/hyperville.sqlite"), description="SQLite file of the twin (embedded store)"
    )
    store_url: str | None = Field(
        None, description="postgresql://… to use PostgreSQL instead of the SQLite file"
    )
    host: str = Field("127.0.0.1", description="address the HTTP server binds to")
    port: int = Field(8080, ge=1, le=65535, description="HTTP port")
    context_cache_dir: Path | None = Field(
        None, description="directory of cached @context documents (index.json maps URL → file)"
    )
    allow_remote_contexts: bool = Field(
        True, description="fetch unknown @context URLs from the network (after the cache)"
    )
    context_fetch_timeout_s: float = Field(3.0, gt=0, le=60, description="[s] remote @context")
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="[bytes] largest accepted request body"
    )
    default_limit: int = Field(20, ge=1, description="entities per page when none is asked")
    max_limit: int = Field(1000, ge=1, description="largest page a client may ask for")
    write_batch_max: int = Field(
        512, ge=1, description="operations applied per SQLite write transaction at most"
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite synchronous pragma (NORMAL survives a process crash)"
    )
    mqtt_url: str | None = Field(
        None, description="mqtt://host:port of the broker to ingest from (none: no MQTT)"
    )
    mqtt_sources: str = Field(
        "hyperville", description="MQTT topic families, comma-separated: hyperville,chirpstack,ttn"
    )
    ingest_queue_max: int = Field(
        100_000, ge=1, description="data points waiting to be written at most (back-pressure)"
    )
    ingest_batch_max: int = Field(
        5_000, ge=1, description="data points written per ingestion transaction at most"
    )
    dedup_window_s: int = Field(
        7 * 86400, ge=60, description="[s] how long a message id is remembered (redeliveries)"
    )
    temporal_max_instances: int = Field(
        1000,
        ge=1,
        description="instances per attribute in a temporal answer at most (more: 206, a page)",
    )
    answer_cache_mb: int = Field(
        64,
        ge=0,
        description="[MiB] compacted entities kept to answer repeated queries (0: no cache)",
    )
    reader_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="threads that run queries (0: one per CPU core, at least 2)",
    )
    notification_allowed_hosts: str = Field(
        "*",
        description="hosts subscription notifications may go to: * (any), or names "
        "(scada.local, *.city.fr) and networks (10.20.0.0/16), comma-separated",
    )
    notification_timeout_s: float = Field(
        5.0, gt=0, le=120, description="[s] one notification delivery (connect to answer)"
    )
    notification_queue_max: int = Field(
        10_000, ge=1, description="twin changes waiting to be matched at most (beyond: dropped)"
    )
    ingest_webhook_token: SecretStr | None = Field(
        None, description="bearer token of the ChirpStack / The Things Stack HTTP integrations"
    )
    secret_key: SecretStr = Field(SecretStr(DEFAULT_SECRET), description="signing secret")
    demo_mode: bool = Field(False, description="demo: the default secret is accepted")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    basemap: str = Field(
        "twin",
        description="background of the operations screen's map: twin (offline, drawn from the "
        "twin's own layers), ign-plan, osm, or a raster XYZ URL template with {z}, {x}, {y}",
    )
    basemap_attribution: str | None = Field(
        None, description="credit shown under a custom basemap URL (needed with one)"
    )

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("host must not be empty")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^mqtts?://([^@/\s]+@)?[^/:@\s]+(:\d{1,5})?/?$", value):
            raise ValueError(
                "mqtt_url must look like mqtt://host:1883 or mqtts://user:password@host:8883"
            )
        return value

    @field_validator("mqtt_sources", mode="before")
    @classmethod
    def _sources_list(cls, value: Any) -> str:
        parts = value if isinstance(value, list) else str(value).split(",")
        names = [str(p).strip() for p in parts if str(p).strip()]
        wrong = [n for n in names if n not in ("hyperville", "chirpstack", "ttn")]
        if wrong or not names:
            raise ValueError("mqtt_sources: a comma-separated list of hyperville, chirpstack, ttn")
        return ",".join(dict.fromkeys(names))

    @field_validator("basemap")
    @classmethod
    def _basemap(cls, value: str) -> str:
        value = value.strip()
        if value in BASEMAPS:
            return value
        if re.match(r"^https?://[^\s/]+/\S*$", value) and all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            return value
        raise ValueError(
            "basemap: twin, ign-plan, osm, or an http(s) raster tile URL template with "
            "{z}, {x} and {y}"
        )

    @model_validator(mode="after")
    def _secret_outside_demo(self) -> Settings:
        if (
            not self.demo_mode
            and self.secret_key.get_secret_value() == DEFAULT_SECRET
            and os.environ.get("HYPERVILLE_ALLOW_DEFAULT_SECRET") != "1"
        ):
            raise ValueError(
                "secret_key is the built-in default: set HYPERVILLE_SECRET_KEY "
                "(the default is accepted only in demo mode)"
            )
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit must not exceed max_limit")
        if self.basemap not in BASEMAPS and not (self.basemap_attribution or "").strip():
            raise ValueError("basemap_attribution is needed with a custom basemap URL")
        return self


def interpolate_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` (used when VAR is unset or empty)."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is not None and (value or default is None):
            return value
        if default is not None:  # as in the shell: unset or empty takes the default
            return default
        raise ConfigError(f"environment variable {name} is not set and has no default")

    return _ENV_REF.sub(replace, text)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from an optional YAML file, the environment and overrides."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            text = Path(config_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{config_file}: cannot read ({exc.strerror})") from exc
        try:
            loaded = yaml.safe_load(interpolate_env(text)) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{config_file}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: the top level must be a mapping of settings")
        values.update(loaded)
    try:
        # HYPERVILLE_* variables win over the YAML file; explicit overrides win over both.
        values.update(EnvSettingsSource(Settings)())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(**values)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
