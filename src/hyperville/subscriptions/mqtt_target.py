"""MQTT notification endpoints (CIM 009 v1.8, MQTT binding of notifications): what the
endpoint of a subscription names, checked when it is created.

``endpoint.uri`` is ``mqtt[s]://[user[:password]@]host[:port]/topic[/level]*`` (ports 1883
and 8883 by default); ``endpoint.notifierInfo`` may hold ``MQTT-Version`` (``mqtt3.1.1`` or
``mqtt5.0``, the default) and ``MQTT-QoS`` (``0``, the default, ``1`` or ``2``). The topic
is the URI's path without its first ``/``, percent-decoded; it cannot hold the wildcards
``+`` and ``#`` (a PUBLISH names one topic).

Credentials in the URI are secrets: :func:`redact` is how the URI is shown (GET
/subscriptions, logs, error messages), with the password replaced by ``***``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from hyperville.core.errors import BadRequestData

MQTT_SCHEMES = ("mqtt", "mqtts")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
VERSIONS = ("mqtt3.1.1", "mqtt5.0")
DEFAULT_VERSION = "mqtt5.0"
QOS_LEVELS = ("0", "1", "2")
MASK = "***"


@dataclass(frozen=True)
class MqttTarget:
    """Where and how one notification is published."""

    tls: bool
    host: str
    port: int
    username: str | None
    password: str | None
    topic: str
    version: str = DEFAULT_VERSION
    qos: int = 0

    @property
    def broker(self) -> tuple:
        """What one connection is for: notifications with the same broker share it."""
        return (self.tls, self.host, self.port, self.username, self.password, self.version)

    @property
    def where(self) -> str:
        """The broker and topic, without credentials (for messages)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.topic}"


def is_mqtt(uri: str) -> bool:
    return uri[:6].lower().startswith(("mqtt:", "mqtts:"))


def redact(uri: str) -> str:
    """The URI with the password of its user information (if any) replaced by ``***``."""
    if not is_mqtt(uri):
        return uri
    scheme, sep, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    user_info, at, host = authority.rpartition("@")
    if not at or ":" not in user_info:
        return uri
    return f"{scheme}{sep}{user_info.split(':', 1)[0]}:{MASK}@{host}{slash}{path}"


def _notifier_info(items: list | None) -> tuple[str, int]:
    settings = {item["key"]: item["value"] for item in items or ()}
    version = settings.get("MQTT-Version", DEFAULT_VERSION)
    if version not in VERSIONS:
        raise BadRequestData(
            f"notification.endpoint.notifierInfo MQTT-Version must be mqtt3.1.1 or mqtt5.0, "
            f"not {version!r}"
        )
    qos = settings.get("MQTT-QoS", "0")
    if qos not in QOS_LEVELS:
        raise BadRequestData(
            f"notification.endpoint.notifierInfo MQTT-QoS must be 0, 1 or 2, not {qos!r}"
        )
    return version, int(qos)


def check_notifier_info(items: list) -> None:
    """The MQTT settings of ``notifierInfo`` are valid (other keys are left alone)."""
    _notifier_info(items)


def parse_target(uri: str, notifier_info: list | None = None) -> MqttTarget:
    """The target of an ``mqtt://`` or ``mqtts://`` endpoint; BadRequestData says what is
    wrong with it (the password never appears in the message)."""
    shown = redact(uri)
    what = f"notification.endpoint.uri {shown!r}"
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in MQTT_SCHEMES:
        raise BadRequestData(f"{what} is not an mqtt:// or mqtts:// URI")
    if not parts.hostname:
        raise BadRequestData(f"{what} names no MQTT broker host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise BadRequestData(f"{what} has an invalid port") from None
    if parts.query or parts.fragment or "#" in uri or "?" in uri:
        raise BadRequestData(
            f"{what}: an MQTT topic cannot hold '?' or '#' (no query, no wildcard)"
        )
    topic = unquote(parts.path[1:])
    if not topic:
        raise BadRequestData(
            f"{what} names no topic: mqtt[s]://[user[:password]@]host[:port]/topic"
        )
    if "+" in topic or "\x00" in topic:
        raise BadRequestData(f"{what}: an MQTT topic to publish to cannot hold the wildcard '+'")
    if len(topic.encode()) > 65535:
        raise BadRequestData(f"{what}: the topic is longer than 65535 bytes")
    version, qos = _notifier_info(notifier_info)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username == "" and password is None:
        username = None
    return MqttTarget(
        tls=scheme == "mqtts",
        host=parts.hostname,
        port=port,
        username=username,
        password=password,
        topic=topic,
        version=version,
        qos=qos,
    )
