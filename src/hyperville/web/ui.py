"""The operations screen: the page, its static assets and the JSON it reads.

- ``GET /`` — the map screen (French; ``?lang=en`` or the FR/EN switch for English). The page
  carries its configuration inline and asks the browser to preload the layers of the first
  render, so the map starts as soon as the script is parsed. The script and styles are built
  from ``web/`` into ``static/`` (``./run ui``) and shipped in the package
  (:mod:`hyperville.web.assets`): nothing is fetched from the internet.
- ``GET /api/v1/ui/config`` — the same configuration: the layer catalogue, the territory's
  bounds, the basemap (:mod:`hyperville.web.basemap`), the built assets.
- ``GET /api/v1/ui/layers/{layer}`` — one layer as compact GeoJSON (ETag, gzip).
- ``GET /api/v1/ui/search?q=…`` — entities by name, commune, type or id
  (:mod:`hyperville.web.search`).
- ``GET /api/v1/kpis`` — the KPI tiles (:mod:`hyperville.web.kpis`).
- ``GET /api/v1/alarms`` — the active alarms (:mod:`hyperville.web.alarms`).
- ``GET /api/v1/live`` — server-sent events (:mod:`hyperville.web.live`).

The screen shows the default tenant.
"""

from __future__ import annotations

import contextlib
import html
import threading

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hyperville.core.errors import ResourceNotFound
from hyperville.store.base import DEFAULT_TENANT
from hyperville.web import kpis
from hyperville.web.alarms import AlarmBook, alarms
from hyperville.web.assets import Assets, static_file
from hyperville.web.basemap import basemap
from hyperville.web.communes import Communes
from hyperville.web.layers import BY_ID, LAYERS, LayerCache, short
from hyperville.web.live import LiveHub, live
from hyperville.web.search import search

FIRST_RENDER = ("communes", *(spec.id for spec in LAYERS if spec.geometry == "point"))
"""The layers the page reads itself before its first render (preloaded)."""
STOP_WAIT_S = 10.0  # [s] at most, for the layer loading to stop before the store closes


def _json(body: object, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), headers=headers, media_type="application/json")


def screen_config(app) -> dict:
    """What the page needs to start (blocking: may load the communes; call from a thread)."""
    assets = app.state.assets.names()
    return {
        "layers": [spec.public() for spec in LAYERS],
        "bounds": app.state.communes.bounds(),
        "basemap": basemap(app.state.settings),
        "assets": {name: f"/static/{file}" for name, file in assets.items()},
        "build": app.state.assets.build_id(),
    }


PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hyperville</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
{preloads}
<script type="module" src="{js}"></script></head>
<body><div id="app" data-lang="{lang}"><noscript>hyperville: JavaScript is needed for the map;
see <a href="/about">/about</a>.</noscript></div>
<script type="application/json" id="hyperville-config">{config}</script></body></html>"""


async def page(request: Request) -> HTMLResponse:
    warm_up(request.app)
    lang = "en" if request.query_params.get("lang") == "en" else "fr"
    config = await anyio.to_thread.run_sync(screen_config, request.app)
    preloads = "\n".join(
        [
            *(f'<link rel="modulepreload" href="/static/{html.escape(name)}">' for name in
              request.app.state.assets.preload()),
            f'<link rel="prefetch" href="{html.escape(config["assets"].get("worker", ""))}">',
            *(f'<link rel="preload" href="{BY_ID[name].public()["url"]}" as="fetch" crossorigin>'
              for name in FIRST_RENDER),
        ]
    )  # fmt: skip
    text = PAGE.format(
        lang=lang,
        css=html.escape(config["assets"].get("app.css", "")),
        js=html.escape(config["assets"].get("app.js", "")),
        preloads=preloads,
        config=orjson.dumps(config).decode().replace("<", "\\u003c"),
    )
    return HTMLResponse(text, headers={"Cache-Control": "no-cache"})


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


async def config(request: Request) -> Response:
    warm_up(request.app)
    return _json(await anyio.to_thread.run_sync(screen_config, request.app))


async def layer(request: Request) -> Response:
    name = request.path_params["layer"]
    if name not in BY_ID:
        raise ResourceNotFound(f"no layer {name!r}; the layers are {', '.join(BY_ID)}")
    warm_up(request.app)
    blob = await anyio.to_thread.run_sync(request.app.state.layers.blob, name)
    headers = {"ETag": blob.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == blob.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(blob.gz, headers=headers, media_type="application/geo+json")
    return Response(blob.raw, headers=headers, media_type="application/geo+json")


async def kpi(request: Request) -> Response:
    warm_up(request.app)
    return _json(await anyio.to_thread.run_sync(kpis.compute, request.app.state.layers))


def routes() -> list:
    return [
        Route("/", page, methods=["GET"]),
        Route("/api/v1/ui/config", config, methods=["GET"]),
        Route("/api/v1/ui/layers/{layer}", layer, methods=["GET"]),
        Route("/api/v1/ui/search", search, methods=["GET"]),
        Route("/api/v1/kpis", kpi, methods=["GET"]),
        Route("/api/v1/alarms", alarms, methods=["GET"]),
        Route("/api/v1/live", live, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
    ]


def install(app) -> None:
    """Attach the layer cache, alarms and the live hub to the app, fed by the twin's changes."""
    cache = LayerCache(app.state.twin)
    communes = Communes(cache)
    book = AlarmBook(cache, communes)
    hub = LiveHub(book)
    state = app.state
    state.layers, state.communes, state.alarms, state.live = cache, communes, book, hub
    state.assets = Assets()
    state.ui_lock, state.ui_warming = threading.Lock(), None

    def on_change(tenant: str, kind: str, entity_id: str, entity: dict | None, *_before) -> None:
        touched = cache.apply(tenant, entity_id, entity)
        if tenant != DEFAULT_TENANT:
            return
        found = book.observe(touched[0], entity_id, touched[1]) if touched else ([], [])
        hub.publish(kind, entity_id, entity, touched, found)

    app.state.twin.on_change(on_change)

    # the background loading stops before the store closes (the app's own lifespan closes it)
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(running):
        async with serving(running) as value:
            try:
                yield value
            finally:
                cache.stopping.set()
                warming = state.ui_warming
                if warming is not None:  # it stops after the page it reads, if any
                    await anyio.to_thread.run_sync(warming.join, STOP_WAIT_S)

    app.router.lifespan_context = lifespan


__all__ = ["install", "routes", "short"]
