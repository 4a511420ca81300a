"""Security headers on every answer: what browsers must not do with hyperville's pages.

Following ANSSI's recommendations for web applications and OWASP's secure headers, every
HTTP answer gets:

- ``X-Content-Type-Options: nosniff``: a JSON or CSV answer is never run as a script;
- ``Referrer-Policy: same-origin``: entity ids in URLs never leave in a ``Referer``;
- ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``: no page can frame the screen
  (clickjacking of the supervision room);
- ``Cross-Origin-Opener-Policy: same-origin`` and a ``Permissions-Policy`` that turns off the
  camera, microphone, geolocation, payment and USB APIs, which no page uses;

and every HTML page a ``Content-Security-Policy``: scripts, workers, fonts and connections
from this origin only (the screen has no inline script: its configuration is a JSON data
block), images also from ``data:`` and ``blob:`` (the map), and the basemap's tile server when
the ``basemap`` setting names one (the browser fetches those tiles itself). Styles allow
``'unsafe-inline'``: the screen colours its legend swatches with ``style`` attributes;
scripts never do. A header an endpoint sets itself is left as it is.

HSTS is not sent: hyperville speaks plain HTTP behind the site's TLS reverse proxy, which
owns that header.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


def tile_origins(basemap: dict | None) -> list[str]:
    """The origins (``https://data.geopf.fr``) the basemap's tile URL templates name."""
    origins: list[str] = []
    for template in (basemap or {}).get("tiles", []):
        parts = urlsplit(template)
        if not parts.scheme:
            continue
        host = parts.netloc.rsplit("@", 1)[-1]
        # a host with a placeholder ({s}.tile…): the scheme alone, any host of it
        origin = f"{parts.scheme}:" if "{" in host else f"{parts.scheme}://{host}"
        if origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(basemap: dict | None = None) -> str:
    """The CSP of hyperville's HTML pages, with the basemap's tile servers when there are."""
    tiles = "".join(" " + origin for origin in tile_origins(basemap))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{tiles}",
            f"connect-src 'self'{tiles}",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """ASGI middleware: :data:`COMMON` on every HTTP answer, the CSP on HTML ones."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self.csp = csp.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                message = {**message, "headers": _added(headers, self.csp)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _added(headers: list[tuple[bytes, bytes]], csp: bytes) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    extra: Iterable[tuple[bytes, bytes]] = COMMON
    if _is_html(headers):
        extra = (*COMMON, (b"content-security-policy", csp))
    return headers + [(name, value) for name, value in extra if name not in present]


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
        for name, value in headers
    )
