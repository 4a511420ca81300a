"""``GET /api/v1/ui/search?q=…&limit=20``: features of the screen by name, commune, type or id.

Every word of ``q`` must appear, in any order, without regard to case or accents
(``gare breaute`` finds "Parking de la gare de Bréauté"). ``limit``: 1–100 (20 by default).
"""

from __future__ import annotations

import unicodedata

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from hyperville.core.errors import InvalidRequest
from hyperville.web.communes import Communes, anchor
from hyperville.web.layers import LAYERS, LayerCache

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def fold(text: str) -> str:
    """Lower case without accents: ``Bréauté`` matches ``breaute``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def type_name(entity_id: str) -> str:
    """``urn:ngsi-ld:Streetlight:42`` → ``Streetlight`` (ids of the usual form)."""
    return entity_id.split(":")[2] if entity_id.count(":") >= 3 else ""


def find(cache: LayerCache, communes: Communes, q: str, limit: int) -> list[dict]:
    """The first ``limit`` features matching every word of ``q`` (blocking; from a thread)."""
    words = fold(q).split()
    if not words:
        return []
    features = [(spec.id, f) for spec in LAYERS for f in cache.snapshot(spec.id)]
    where = communes.of(f for _, f in features)
    out: list[dict] = []
    for layer_id, feature in features:
        p = feature["properties"]
        commune = where[p["i"]]
        hay = fold(f"{p.get('n', '')} {p['i']} {type_name(p['i'])} {commune}")
        if all(w in hay for w in words):
            out.append(
                {
                    "id": p["i"],
                    "name": p.get("n"),
                    "type": type_name(p["i"]),
                    "layer": layer_id,
                    "commune": commune,
                    "center": anchor(feature["geometry"]),
                }
            )
            if len(out) >= limit:
                break
    return out


async def search(request: Request) -> Response:
    q = request.query_params.get("q", "")[:100]
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    state = request.app.state
    results = await anyio.to_thread.run_sync(find, state.layers, state.communes, q, int(raw))
    return Response(orjson.dumps({"q": q, "results": results}), media_type="application/json")
