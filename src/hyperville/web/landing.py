"""The home page: what this twin holds and where its APIs are (French first, English on ?lang=en).

A plain server-rendered page with no script and no external resource, so it works on sites
without internet. The map-based operations screen replaces it as the home page later.
"""

from __future__ import annotations

import html

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hyperville.api.caller import caller

TEXTS = {
    "fr": {
        "title": "hyperville — jumeau numérique du territoire",
        "intro": "Hyperviseur urbain libre : le jumeau numérique du territoire, ses API ouvertes.",
        "holds": "Le jumeau contient",
        "entities": "entités",
        "empty": "Le jumeau est vide : créez des entités par l'API NGSI-LD.",
        "type": "Type",
        "count": "Nombre",
        "apis": "API",
        "ngsi": "API NGSI-LD (ETSI GS CIM 009)",
        "types": "Types d'entités",
        "health": "État du service",
        "other": "English",
        "other_lang": "en",
    },
    "en": {
        "title": "hyperville — the territory's digital twin",
        "intro": "Open-source urban hypervisor: the territory's digital twin and its open APIs.",
        "holds": "The twin holds",
        "entities": "entities",
        "empty": "The twin is empty: create entities through the NGSI-LD API.",
        "type": "Type",
        "count": "Count",
        "apis": "APIs",
        "ngsi": "NGSI-LD API (ETSI GS CIM 009)",
        "types": "Entity types",
        "health": "Service health",
        "other": "Français",
        "other_lang": "fr",
    },
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#12355b;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.85}
main{max-width:60rem;margin:1.5rem auto;padding:0 1.5rem}
section{background:#fff;border-radius:8px;padding:1rem 1.5rem;margin-bottom:1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%} td,th{padding:.4rem;border-bottom:1px solid #e3e7eb;
text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#0b63b6} nav{float:right} nav a{color:#fff}
"""


async def home(request: Request) -> HTMLResponse:
    lang = "en" if request.query_params.get("lang") == "en" else "fr"
    text = TEXTS[lang]
    who = caller(request)
    store = request.app.state.twin.store
    infos = await anyio.to_thread.run_sync(store.entity_types, who.tenant)
    total = sum(info.entity_count for info in infos)
    rows = "".join(
        f"<tr><td>{html.escape(_short(info.type))}</td><td class=n>{info.entity_count:,}</td></tr>"
        for info in sorted(infos, key=lambda i: -i.entity_count)
    )
    table = (
        f"<table><tr><th>{text['type']}</th><th>{text['count']}</th></tr>{rows}</table>"
        if infos
        else f"<p>{text['empty']}</p>"
    )
    page = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text["title"]}</title><style>{STYLE}</style></head><body>
<header><nav><a href="?lang={text["other_lang"]}">{text["other"]}</a></nav>
<h1>{text["title"]}</h1><p>{text["intro"]}</p></header><main>
<section><h2>{text["holds"]} {total:,} {text["entities"]}</h2>{table}</section>
<section><h2>{text["apis"]}</h2><ul>
<li><a href="/ngsi-ld/v1/types">{text["types"]}</a> — {text["ngsi"]}</li>
<li><a href="/health">{text["health"]}</a></li></ul></section>
</main></body></html>"""
    return HTMLResponse(page)


def _short(iri: str) -> str:
    """The last segment of a type IRI, as people call the type."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
