"""The map background of the operations screen, from the ``basemap`` setting.

``twin`` (the default) needs no network: the map is drawn from the twin's own layers
(communes, roads, buildings). For connected sites, ``ign-plan`` (IGN's Plan IGN v2 through the
Géoplateforme WMTS, Web Mercator tile matrix set ``PM``), ``osm`` (the OpenStreetMap standard
tiles) or a raster XYZ URL template with its ``basemap_attribution`` draw a raster basemap
under the twin's layers. The browser fetches those tiles itself; the server never does.
"""

from __future__ import annotations

import html

from hyperville.settings import Settings

IGN_PLAN = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
    "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
PRESETS = {
    "ign-plan": {
        "name": "Plan IGN",
        "tiles": [IGN_PLAN],
        "maxzoom": 19,
        "attribution": '<a href="https://www.ign.fr/">© IGN</a> — Plan IGN v2',
    },
    "osm": {
        "name": "OpenStreetMap",
        "tiles": [OSM],
        "maxzoom": 19,
        "attribution": (
            '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors</a>'
        ),
    },
}


def basemap(settings: Settings) -> dict | None:
    """The raster source the screen draws under its layers, or None for the offline map."""
    choice = settings.basemap
    if choice == "twin":
        return None
    if choice in PRESETS:
        return {"id": choice, "tileSize": 256, **PRESETS[choice]}
    return {
        "id": "custom",
        "name": settings.basemap_attribution,
        "tiles": [choice],
        "tileSize": 256,
        "maxzoom": 19,
        "attribution": html.escape(settings.basemap_attribution or ""),
    }
