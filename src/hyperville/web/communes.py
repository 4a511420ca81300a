"""Which commune a feature of the screen lies in, and the territory's bounds.

Both come from the ``communes`` layer (``AdministrativeArea`` entities): a point-in-polygon
test against an STRtree of their areas, remembered per entity until the communes change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import orjson
import shapely

from hyperville.web.layers import LayerCache


def anchor(geometry: dict) -> list[float]:
    """A position of the geometry, [lon, lat]: the point itself, else its first vertex."""
    coords = geometry["coordinates"]
    while coords and not isinstance(coords[0], int | float):
        coords = coords[0]
    return list(coords[:2])


class Communes:
    """Commune names by entity id, and the bounds of all communes, for one layer cache."""

    def __init__(self, cache: LayerCache) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._version = -1
        self._names: list[str] = []
        self._tree: shapely.STRtree | None = None
        self._bounds: list[float] | None = None
        self._of: dict[str, str] = {}

    def _refresh(self, load: bool = True) -> bool:
        """Rebuild the index when the communes layer changed (call with the lock held);
        False when the layer is not loaded and ``load`` is false."""
        if not load and "communes" not in self.cache.loaded:
            return False
        areas = self.cache.snapshot("communes")
        version = self.cache.version["communes"]
        if version == self._version:
            return True
        geoms = shapely.from_geojson([orjson.dumps(f["geometry"]).decode() for f in areas])
        self._names = [f["properties"].get("n", "") for f in areas]
        self._tree = shapely.STRtree(geoms) if areas else None
        bounds = shapely.total_bounds(geoms).tolist() if areas else None
        self._bounds = [round(v, 5) for v in bounds] if bounds else None
        self._of = {}
        self._version = version
        return True

    def bounds(self) -> list[float] | None:
        """[west, south, east, north] of every commune, degrees (None: no commune yet)."""
        with self._lock:
            self._refresh()
            return self._bounds

    def of(self, features: Iterable[dict]) -> dict[str, str]:
        """The commune of each feature, by entity id ("" outside every commune, or while the
        communes are not loaded yet)."""
        features = list(features)
        with self._lock:
            if not self._refresh(load=False):  # never read the twin from a writer's thread
                return {f["properties"]["i"]: "" for f in features}
            missing = [f for f in features if f["properties"]["i"] not in self._of]
            if missing and self._tree is not None:
                points = shapely.points([anchor(f["geometry"]) for f in missing])
                where, which = self._tree.query(points, predicate="within")
                for p, a in zip(where.tolist(), which.tolist(), strict=True):
                    self._of[missing[p]["properties"]["i"]] = self._names[a]
            for f in missing:
                self._of.setdefault(f["properties"]["i"], "")
            return {f["properties"]["i"]: self._of[f["properties"]["i"]] for f in features}
