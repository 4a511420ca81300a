"""Content negotiation and JSON-LD @context of a request (ETSI GS CIM 009, 6.3.4–6.3.6)."""

from __future__ import annotations

import re

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from hyperville.api.query_params import header
from hyperville.core.errors import (
    BadRequestData,
    InvalidRequest,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from hyperville.ngsild.context import CORE_CONTEXT_URL, Context, ContextResolver

JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[A-Za-z]+\s*=\s*(?:"[^"]*"|[^;,]*)\s*)*)')


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def link_context_url(request: Request) -> str | None:
    """The @context URL of a ``Link`` header with the JSON-LD context relation, if any."""
    link = header(request, b"link")
    if not link:
        return None
    for match in _LINK.finditer(link):
        params = match.group(2).replace(" ", "")
        if f'rel="{CONTEXT_REL}"' in params or f"rel={CONTEXT_REL}" in params:
            url = match.group(1).strip()
            if not url:
                raise BadRequestData("the Link header names an empty @context URL")
            return url
    return None


async def read_limited_body(request: Request) -> bytes:
    """The raw body, refused with 413 as soon as it passes ``max_body_bytes``."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, *, allowed: tuple[str, ...] = (JSON, JSON_LD)):
    """The parsed JSON body and its media type; 415/413/400 errors say what is wrong."""
    media_type = _media_type(request.headers.get("content-type"))
    if media_type == MERGE_PATCH and request.method == "PATCH":
        media_type = JSON  # RFC 7396 bodies are plain JSON with Link-header contexts
    if media_type not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'} is not supported here; use "
            + " or ".join(allowed)
        )
    raw = await read_limited_body(request)
    if not raw.strip():
        raise InvalidRequest("the request body is empty; a JSON document is expected")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from exc
    return body, media_type


async def resolve(request: Request, value: object) -> Context:
    resolver: ContextResolver = request.app.state.contexts
    if value is None:
        return resolver.core()
    if resolver.is_resolved(value):
        return resolver.resolve(value)
    return await anyio.to_thread.run_sync(resolver.resolve, value)


async def body_context(request: Request, body: object, media_type: str) -> Context:
    """The @context of a request with a JSON body (Link header or in-body @context)."""
    link = link_context_url(request)
    if media_type == JSON_LD:
        if link is not None:
            raise BadRequestData("a Link @context header is not allowed with application/ld+json")
        items = body if isinstance(body, list) else [body]
        contexts = [i.get("@context") for i in items if isinstance(i, dict)]
        if not contexts or any(c is None for c in contexts):
            raise BadRequestData("application/ld+json bodies must carry an @context member")
        return await resolve(request, contexts[0])
    items = body if isinstance(body, list) else [body]
    if any(isinstance(i, dict) and "@context" in i for i in items):
        raise BadRequestData("an @context member is only allowed with application/ld+json")
    return await resolve(request, link)


async def query_context(request: Request) -> Context:
    """The @context of a request without a body (GET, DELETE): the Link header or the core."""
    return await resolve(request, link_context_url(request))


def accepted(request: Request, offers: tuple[str, ...] = (JSON, JSON_LD)) -> str:
    """The response media type chosen from the Accept header among ``offers`` (406 otherwise)."""
    accept = header(request, b"accept")
    if not accept:
        return offers[0]
    best, best_q = None, -1.0
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media in ("*/*", "application/*"):
            candidate = offers[0]
        elif media in offers:
            candidate = media
        else:
            continue
        if quality > best_q and quality > 0:
            best, best_q = candidate, quality - position * 1e-6
    if best is None:
        raise NotAcceptable(f"none of the accepted media types ({accept}) can be produced")
    return best


def json_response(
    content: object,
    *,
    status: int = 200,
    media_type: str = JSON,
    ctx: Context | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON answer; entity bodies get their @context as the NGSI-LD spec says."""
    return json_bytes_response(
        orjson.dumps(content), status=status, media_type=media_type, ctx=ctx, headers=headers
    )


def json_bytes_response(
    body: bytes,
    *,
    status: int = 200,
    media_type: str = JSON,
    ctx: Context | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """:func:`json_response` of an already rendered JSON body."""
    all_headers = dict(headers or {})
    if ctx is not None and media_type in (JSON, GEO_JSON):
        url = ctx.link_url or CORE_CONTEXT_URL
        all_headers["Link"] = f'<{url}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
    return Response(body, status_code=status, media_type=media_type, headers=all_headers)


def context_member(ctx: Context) -> object:
    """The value of ``@context`` in an application/ld+json answer."""
    return ctx.raw if ctx.raw is not None else CORE_CONTEXT_URL
