"""The operations screen: the page, its static assets and the JSON it reads.

- ``GET /`` — the map screen (French; ``?lang=en`` or the FR/EN switch for English). The
  script and styles are built from ``web/`` into ``static/`` (``./run ui``) and shipped in the
  package: nothing is fetched from the internet.
- ``GET /api/v1/ui/config`` — the layer catalogue, the territory's bounds, the optional
  external basemap (``HYPERVILLE_UI_BASEMAP_URL``, an XYZ raster template) and server time.
- ``GET /api/v1/ui/layers/{layer}`` — one layer as compact GeoJSON (ETag, gzip).
- ``GET /api/v1/ui/search?q=…`` — entities by name, commune, type or id.
- ``GET /api/v1/kpis`` — the KPI tiles (:mod:`hyperville.web.kpis`).
- ``GET /api/v1/live`` — server-sent events (:mod:`hyperville.web.live`).

The screen shows the default tenant.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from pathlib import Path

import anyio
import orjson
import shapely
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hyperville.store.base import DEFAULT_TENANT
from hyperville.web import kpis
from hyperville.web.layers import BY_ID, LAYERS, LayerCache, short
from hyperville.web.live import LiveHub, live

STATIC = Path(__file__).parent / "static"
SEARCH_LIMIT = 20


def _json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _build_id() -> str:
    try:
        return orjson.loads((STATIC / "build.json").read_bytes())["hash"][:12]
    except (OSError, ValueError, KeyError):
        return "dev"


PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hyperville</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css?v={build}">
<script type="module" src="/static/app.js?v={build}"></script></head>
<body><div id="app" data-lang="{lang}"><noscript>hyperville: JavaScript is needed for the map;
see <a href="/about">/about</a>.</noscript></div></body></html>"""


async def page(request: Request) -> HTMLResponse:
    _warm_up(request)
    lang = "en" if request.query_params.get("lang") == "en" else "fr"
    return HTMLResponse(PAGE.format(lang=lang, build=_build_id()))


def _cache(request: Request) -> LayerCache:
    return request.app.state.layers


def warm_up(app) -> None:
    """Load every layer in the background, once (buildings take about a second).

    Called when the server starts, so the first visitor gets a warm screen, and again on
    each visit as a safety net (it does nothing once started).
    """
    state = app.state
    with state.ui_lock:
        if state.ui_warming is None:
            state.ui_warming = threading.Thread(
                target=state.layers.ensure_all, name="ui-layers", daemon=True
            )
            state.ui_warming.start()


def _warm_up(request: Request) -> None:
    warm_up(request.app)


def _bounds(cache: LayerCache) -> list[float] | None:
    communes = cache.snapshot("communes")
    if not communes:
        return None
    geoms = shapely.from_geojson([orjson.dumps(f["geometry"]).decode() for f in communes])
    return [round(v, 5) for v in shapely.total_bounds(geoms).tolist()]


async def config(request: Request) -> Response:
    _warm_up(request)
    bounds = await anyio.to_thread.run_sync(_bounds, _cache(request))
    basemap = getattr(request.app.state.settings, "ui_basemap_url", None) or os.environ.get(
        "HYPERVILLE_UI_BASEMAP_URL"
    )
    return _json(
        {
            "layers": [spec.public() for spec in LAYERS],
            "bounds": bounds,
            "basemap": basemap or None,
            "build": _build_id(),
        }
    )


async def layer(request: Request) -> Response:
    name = request.path_params["layer"]
    if name not in BY_ID:
        return _json({"title": f"no layer {name!r}", "layers": list(BY_ID)}, 404)
    _warm_up(request)
    blob = await anyio.to_thread.run_sync(_cache(request).blob, name)
    headers = {"ETag": blob.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == blob.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(blob.gz, headers=headers, media_type="application/geo+json")
    return Response(blob.raw, headers=headers, media_type="application/geo+json")


async def kpi(request: Request) -> Response:
    _warm_up(request)
    return _json(await anyio.to_thread.run_sync(kpis.compute, _cache(request)))


def _fold(text: str) -> str:
    """Lower case without accents: ``Bréauté`` matches ``breaute``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class SearchIndex:
    """Name, id, type and commune of every feature (communes found once per entity)."""

    def __init__(self) -> None:
        self.commune_of: dict[str, str] = {}
        self._lock = threading.Lock()

    def _communes(self, cache: LayerCache, features: list[tuple[str, dict]]) -> None:
        missing = [(i, f) for i, f in features if f["properties"]["i"] not in self.commune_of]
        communes = cache.snapshot("communes")
        if not missing or not communes:
            return
        areas = shapely.from_geojson([orjson.dumps(c["geometry"]).decode() for c in communes])
        tree = shapely.STRtree(areas)
        points = shapely.points([_anchor(f["geometry"]) for _, f in missing])
        where, which = tree.query(points, predicate="within")
        for p, a in zip(where.tolist(), which.tolist(), strict=True):
            props = missing[p][1]["properties"]
            self.commune_of[props["i"]] = communes[a]["properties"].get("n", "")

    def search(self, cache: LayerCache, q: str, limit: int) -> list[dict]:
        words = _fold(q).split()
        if not words:
            return []
        features = [(spec.id, f) for spec in LAYERS for f in cache.snapshot(spec.id)]
        with self._lock:
            self._communes(cache, features)
        out: list[dict] = []
        for layer_id, feature in features:
            p = feature["properties"]
            commune = self.commune_of.get(p["i"], "")
            type_name = p["i"].split(":")[2] if p["i"].count(":") >= 3 else ""
            hay = _fold(f"{p.get('n', '')} {p['i']} {type_name} {commune}")
            if all(w in hay for w in words):
                out.append(
                    {
                        "id": p["i"],
                        "name": p.get("n"),
                        "type": type_name,
                        "layer": layer_id,
                        "commune": commune,
                        "center": _anchor(feature["geometry"]),
                    }
                )
                if len(out) >= limit:
                    break
        return out


def _anchor(geometry: dict) -> list[float]:
    coords = geometry["coordinates"]
    while coords and not isinstance(coords[0], int | float):
        coords = coords[0]
    return list(coords[:2])


async def search(request: Request) -> Response:
    _warm_up(request)
    q = request.query_params.get("q", "")[:100]
    raw_limit = request.query_params.get("limit", str(SEARCH_LIMIT))
    limit = min(int(raw_limit), 100) if raw_limit.isdigit() and int(raw_limit) > 0 else 20
    index: SearchIndex = request.app.state.ui_search
    results = await anyio.to_thread.run_sync(index.search, _cache(request), q, limit)
    return _json({"q": q, "results": results})


def routes() -> list:
    return [
        Route("/", page, methods=["GET"]),
        Route("/api/v1/ui/config", config, methods=["GET"]),
        Route("/api/v1/ui/layers/{layer}", layer, methods=["GET"]),
        Route("/api/v1/ui/search", search, methods=["GET"]),
        Route("/api/v1/kpis", kpi, methods=["GET"]),
        Route("/api/v1/live", live, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]


def install(app) -> None:
    """Attach the layer cache and the live hub to the app, fed by the twin's changes."""
    cache = LayerCache(app.state.twin)
    hub = LiveHub()
    app.state.layers, app.state.live = cache, hub
    app.state.ui_search = SearchIndex()
    app.state.ui_lock, app.state.ui_warming = threading.Lock(), None

    def on_change(tenant: str, kind: str, entity_id: str, entity: dict | None) -> None:
        touched = cache.apply(tenant, entity_id, entity)
        if tenant == DEFAULT_TENANT:
            hub.publish(kind, entity_id, entity, touched)

    app.state.twin.on_change(on_change)


__all__ = ["install", "routes", "short"]
