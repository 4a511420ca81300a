"""The road network: departmental and communal roads between commune centres, local streets.

Inter-commune roads are a minimum spanning tree of the commune centres plus extra edges to
near neighbours (so the network has loops); each commune has a grid of streets clipped to a
disc around its centre, whose two central streets cross at the centre, where the
inter-commune roads end: every street meets the central cross, so the network is connected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from .communes import Commune

DEPARTMENTAL_NUMBERS = [
    "D 6015", "D 982", "D 910", "D 173", "D 81", "D 28", "D 39", "D 110", "D 149", "D 428",
    "D 480", "D 109", "D 29", "D 131", "D 34", "D 40", "D 65", "D 73", "D 90", "D 311",
]  # fmt: skip
STREET_NAMES = [
    "Rue de la République", "Rue Jean Jaurès", "Rue Victor Hugo", "Rue Pasteur", "Rue de l'Église",
    "Rue de la Mairie", "Rue du Général de Gaulle", "Rue Gambetta", "Rue Jules Ferry",
    "Rue de la Gare", "Rue des Écoles", "Rue du Stade", "Rue du Moulin", "Rue des Tilleuls",
    "Rue des Érables", "Rue des Chênes", "Rue des Hêtres", "Rue des Pommiers", "Rue du Presbytère",
    "Rue de la Libération", "Rue du 8 Mai 1945", "Rue Guy de Maupassant", "Rue Émile Zola",
    "Rue Anatole France", "Rue Louis Pasteur", "Rue Jean Moulin", "Rue Gustave Flaubert",
    "Rue de la Forêt", "Rue du Calvaire", "Rue de la Croix", "Rue du Château", "Rue de la Vallée",
    "Rue des Prés", "Rue des Champs", "Rue du Bois", "Rue des Sources", "Rue de la Fontaine",
    "Rue du Manoir", "Rue des Lilas", "Rue des Roses", "Rue des Acacias", "Rue du Colombier",
    "Rue de la Briqueterie", "Rue des Tisserands", "Rue de la Filature", "Rue de l'Abbaye",
    "Rue Aristide Briand", "Rue Paul Bert", "Rue Pierre Curie", "Rue Marie Curie",
    "Rue Claude Monet", "Rue du Maréchal Foch", "Rue de Verdun", "Rue Pierre Corneille",
    "Rue des Vergers", "Rue de la Mare", "Rue des Marronniers", "Rue du Clos", "Rue de la Côte",
    "Rue du Val", "Chemin des Écoliers", "Chemin du Halage", "Chemin de la Plaine",
    "Allée des Peupliers", "Allée des Bouleaux", "Impasse des Noisetiers", "Impasse du Verger",
    "Place de la Mairie", "Route du Val", "Sente aux Moines",
]  # fmt: skip
INDUSTRIAL_STREETS = [
    "Route de la Raffinerie", "Rue des Pétroliers", "Avenue du Port", "Rue de la Chimie",
    "Rue des Cuves", "Route du Canal", "Rue des Torchères", "Rue du Pipeline", "Rue des Docks",
    "Rue de l'Écluse", "Rue des Vannes", "Route de l'Estuaire", "Rue du Terminal",
    "Rue des Ingénieurs", "Rue des Raffineurs", "Rue de la Vapeur", "Rue des Citernes",
]  # fmt: skip
UNNAMED_STREET_SHARE = 0.05


@dataclass
class RoadNetwork:
    geometry: list = field(default_factory=list)
    road_id: list = field(default_factory=list)
    name: list = field(default_factory=list)  # None: unnamed (a gap)
    category: list = field(default_factory=list)  # departementale / communale / rue
    road_class: list = field(default_factory=list)  # Smart Data Models roadClass
    insee_code: list = field(default_factory=list)  # None for inter-commune roads
    max_speed: list = field(default_factory=list)
    edges: list = field(default_factory=list)  # (i, j, road index) between commune centres

    def add(self, geom, road_id, name, category, road_class, insee, speed) -> int:
        self.geometry.append(geom)
        self.road_id.append(road_id)
        self.name.append(name)
        self.category.append(category)
        self.road_class.append(road_class)
        self.insee_code.append(insee)
        self.max_speed.append(speed)
        return len(self.geometry) - 1

    def array(self) -> np.ndarray:
        return np.array(self.geometry, dtype=object)


def spanning_edges(xy: np.ndarray) -> list[tuple[int, int]]:
    """Kruskal's minimum spanning tree of points (Euclidean), with a union-find."""
    n = len(xy)
    i, j = np.triu_indices(n, k=1)
    dist = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    tree = []
    for k in np.argsort(dist, kind="stable"):
        ra, rb = find(int(i[k])), find(int(j[k]))
        if ra != rb:
            parent[ra] = rb
            tree.append((int(i[k]), int(j[k])))
    return tree


def _winding_line(rng, a, b, area) -> shapely.LineString:
    """A road from a to b that winds a little (stays inside the outline, else straight)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.hypot(*(b - a)))
    n = max(2, int(length // 900))
    t = np.linspace(0.0, 1.0, n + 1)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1.0)
    amplitude = rng.normal(0.0, 0.03 * length) * np.sin(np.pi * t)
    amplitude += rng.normal(0.0, 60.0, n + 1) * (t > 0) * (t < 1)
    coords = a + np.outer(t, b - a) + np.outer(amplitude, normal)
    line = shapely.LineString(np.round(coords, 1))
    return line if shapely.within(line, area) else shapely.LineString([a, b])


def build_network(rng, communes: list[Commune], area, zone_centre) -> RoadNetwork:
    net = RoadNetwork()
    xy = np.array([(c.x, c.y) for c in communes])
    pops = np.array([c.population for c in communes])
    edges = set(spanning_edges(xy))
    # Extra edges: each commune to its 2nd/3rd nearest neighbours, half of the time.
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    for i in range(len(xy)):
        for j in np.argsort(d[i])[1:4]:
            pair = (min(i, int(j)), max(i, int(j)))
            if pair not in edges and d[i, j] < 7000 and rng.random() < 0.5:
                edges.add(pair)
    numbers = iter(DEPARTMENTAL_NUMBERS * 4)
    for k, (i, j) in enumerate(sorted(edges)):
        major = max(pops[i], pops[j]) >= 2500 or min(pops[i], pops[j]) >= 1000
        line = _winding_line(rng, xy[i], xy[j], area)
        if major:
            name, cat, cls, speed = next(numbers), "departementale", "MAJOR_DISTRICT_ROAD", 80
        else:
            far = communes[j] if pops[j] >= pops[i] else communes[i]
            name, cat, cls, speed = f"Route de {far.name}", "communale", "OTHER_DISTRICT_ROAD", 70
        idx = net.add(line, f"RD-{k + 1:04d}", name, cat, cls, None, speed)
        net.edges.append((i, j, idx))
    for c in communes:
        spacing = 110.0 if c.population > 5000 else 150.0 if c.population > 1500 else 200.0
        _street_grid(rng, net, c.insee_code, (c.x, c.y), c.radius_m, spacing, STREET_NAMES)
    # The Port-Jérôme industrial zone: its own grid, linked to Port-Jérôme-sur-Seine's centre.
    pjs = next(c for c in communes if c.insee_code == "76476")
    link = shapely.LineString([(pjs.x, pjs.y), zone_centre])
    net.add(link, "RD-PORT", "Route du Port", "departementale", "MAJOR_DISTRICT_ROAD", None, 70)
    _street_grid(rng, net, "76476", zone_centre, 1100.0, 260.0, INDUSTRIAL_STREETS, "ZI")
    return net


def _street_grid(rng, net, insee, centre, radius, spacing, names, prefix="") -> None:
    cx, cy = centre
    theta = rng.uniform(0.0, np.pi / 2)
    u = np.array([np.cos(theta), np.sin(theta)])
    v = np.array([-u[1], u[0]])
    k = int(radius // spacing)
    offsets = np.arange(-k, k + 1) * spacing
    lines = []
    for axis, normal in ((u, v), (v, u)):
        for off in offsets:
            if off != 0 and rng.random() < 0.25:
                continue  # not every block has its street: irregular grids
            half = np.sqrt(max(radius**2 - off**2, 0.0))
            if half < 80.0:
                continue
            # Outer streets do not always cross the whole disc (dead ends, hamlets), but each
            # one reaches the central street it is perpendicular to (coordinate 0 on its axis).
            lo = -half if off == 0 else -half * rng.uniform(0.3, 1.0)
            hi = half if off == 0 else half * rng.uniform(0.3, 1.0)
            a = np.array([cx, cy]) + off * normal + lo * axis
            b = np.array([cx, cy]) + off * normal + hi * axis
            lines.append(shapely.LineString(np.round([a, b], 1)))
    order = rng.permutation(len(names))
    for n, line in enumerate(lines):
        name = names[order[n % len(names)]]
        if n >= len(names):
            name = f"{name} prolongée"
        if rng.random() < UNNAMED_STREET_SHARE:
            name = None
        road_id = f"{prefix or 'R'}{insee}-{n + 1:03d}"
        net.add(line, road_id, name, "rue", "MINOR_CITY_ROAD", insee, 30 if n < 2 else 50)


def sample_on_lines(rng, lines: np.ndarray, weights: np.ndarray, n: int):
    """n random points on the lines (chosen by weight): (x, y, unit tangent, line index)."""
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros((0, 2)), np.zeros(0, dtype=int)
    p = weights / weights.sum()
    idx = rng.choice(len(lines), size=n, p=p)
    frac = rng.uniform(0.02, 0.98, n)
    chosen = lines[idx]
    pts = shapely.line_interpolate_point(chosen, frac, normalized=True)
    ahead = shapely.line_interpolate_point(chosen, np.minimum(frac + 0.01, 1.0), normalized=True)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    tangent = np.column_stack([shapely.get_x(ahead) - x, shapely.get_y(ahead) - y])
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), 1e-9)[:, None]
    return x, y, tangent, idx
