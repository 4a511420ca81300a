"""The screen's built assets (``static/``, written by ``./run ui``), served precompressed.

``GET /static/{name}`` answers the file as built. When the client accepts it, the answer is the
Brotli (``.br``) or gzip (``.gz``) twin the build wrote next to it, with ``Content-Encoding``;
every answer carries ``Vary: Accept-Encoding`` and an ETag per variant. Names with a content
hash (``app-3KQ2V7LM.js``) never change meaning, so browsers may keep them for a year
(``immutable``); other files are revalidated (``no-cache``). ``build.json`` maps the logical
names (``app.js``, ``app.css``, ``worker``) to the current hashed ones.

The files are read once, when first asked for, and kept in memory (about 3 MB in all).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
HASHED = re.compile(r"-[A-Za-z0-9]{8}\.(m?js|css)$")
LONG_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


@dataclass(frozen=True)
class Variant:
    body: bytes
    etag: str


def accepted(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (``q=0`` refuses one)."""
    out = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            out.add(name.strip().lower())
    return out


class Assets:
    """The files of one static directory, each with its precompressed variants."""

    def __init__(self, directory: Path = STATIC) -> None:
        self.directory = directory
        self._files: dict[str, dict[str, Variant]] = {}
        self._lock = threading.Lock()

    def _build(self) -> dict:
        try:
            return orjson.loads((self.directory / "build.json").read_bytes())
        except (OSError, ValueError):
            return {}

    def names(self) -> dict[str, str]:
        """Logical name → file name of the current build (empty without a build)."""
        return self._build().get("assets", {})

    def preload(self) -> list[str]:
        """The script chunks the page's script imports (to fetch along with it)."""
        return self._build().get("preload", [])

    def build_id(self) -> str:
        """A short id of the built sources ("dev" without a build)."""
        return str(self._build().get("hash", "dev"))[:12]

    def _variants(self, name: str) -> dict[str, Variant] | None:
        with self._lock:
            found = self._files.get(name)
            if found is not None:
                return found
            if "/" in name or "\\" in name or name.startswith(".") or name.endswith((".gz", ".br")):
                return None
            path = self.directory / name
            if not path.is_file():
                return None
            variants = {}
            for coding, suffix in (("identity", ""), *ENCODINGS):
                file = path.with_name(path.name + suffix)
                if file.is_file():
                    body = file.read_bytes()
                    tag = hashlib.sha256(body).hexdigest()[:16]
                    variants[coding] = Variant(body, f'"{tag}-{coding}"')
            self._files[name] = variants
            return variants

    def response(self, name: str, accept_encoding: str, if_none_match: str | None) -> Response:
        variants = self._variants(name)
        if variants is None:
            return Response(status_code=404, headers={"Cache-Control": "no-cache"})
        allowed = accepted(accept_encoding)
        coding = next((c for c, _ in ENCODINGS if c in allowed and c in variants), "identity")
        variant = variants[coding]
        headers = {
            "ETag": variant.etag,
            "Vary": "Accept-Encoding",
            "Cache-Control": LONG_CACHE if HASHED.search(name) else "no-cache",
        }
        if coding != "identity":
            headers["Content-Encoding"] = coding
        if if_none_match and variant.etag in (t.strip() for t in if_none_match.split(",")):
            return Response(status_code=304, headers=headers)
        media = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        return Response(variant.body, headers=headers, media_type=media)


async def static_file(request: Request) -> Response:
    assets: Assets = request.app.state.assets
    return assets.response(
        request.path_params["name"],
        request.headers.get("accept-encoding", ""),
        request.headers.get("if-none-match"),
    )
