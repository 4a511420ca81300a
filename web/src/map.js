// The map: an offline style drawn from the twin's own layers, one source per layer,
// clusters shown as HTML badges (no glyph server needed), colours by live state.
import * as maplibregl from 'maplibre-gl';
import { t, number } from './i18n.js';

export const COLOURS = {
  free: '#2e9d4f', busy: '#f0a020', full: '#d64545',
  on: '#f5c400', dim: '#b68a1c', off: '#34495e', fault: '#d64545',
  low: '#2e9d4f', mid: '#f0a020', high: '#d64545',
  calm: '#2e9d4f', crowded: '#d64545',
  fluid: '#2e9d4f', dense: '#f0a020', jam: '#d64545',
  ok: '#2b7bb9', unknown: '#9aa5b1', stale: '#8e44ad',
};

// states shown in each layer's legend (and summed in its clusters)
export const LEGEND = {
  parking: ['free', 'busy', 'full', 'unknown', 'stale'],
  lights: ['on', 'dim', 'off', 'fault', 'unknown', 'stale'],
  cabinets: ['on', 'off', 'unknown', 'stale'],
  containers: ['low', 'mid', 'high', 'unknown', 'stale'],
  recycling: ['calm', 'busy', 'crowded', 'unknown', 'stale'],
  traffic: ['fluid', 'dense', 'jam', 'unknown', 'stale'],
  environment: ['ok', 'unknown', 'stale'],
};

const BUILDING = ['match', ['get', 's'],
  'public', '#c9a27e', 'industrial', '#b0a7c4', 'commercial', '#d7b9b0', '#d9d4cc'];

const stateColour = (states) => {
  const expr = ['match', ['get', 's']];
  for (const s of states) if (s !== 'stale') expr.push(s, COLOURS[s]);
  expr.push(COLOURS.unknown);
  return ['case', ['==', ['get', 'x'], 1], COLOURS.stale, expr];
};

const FIXED = {
  stations: '#12355b',
};

const RADIUS = { lights: 3.5, containers: 5, parking: 9, cabinets: 5, recycling: 9,
  traffic: 7, environment: 8, stations: 6 };

export function createMap(container, config, basemapVisible) {
  const sources = {};
  const layers = [{ id: 'bg', type: 'background', paint: { 'background-color': '#e8edf1' } }];
  if (config.basemap) {
    sources.external = { type: 'raster', tiles: [config.basemap], tileSize: 256 };
    layers.push({ id: 'external', type: 'raster', source: 'external',
      layout: { visibility: basemapVisible ? 'visible' : 'none' } });
  }
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources, layers },
    bounds: config.bounds || [0.3, 49.4, 0.9, 49.75],
    fitBoundsOptions: { padding: 20 },
    attributionControl: false,
    maxZoom: 19,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  return map;
}

const EMPTY = { type: 'FeatureCollection', features: [] };

// style layers of one hyperville layer; returns the ids to toggle and to click
export function addLayer(map, spec) {
  const id = spec.id;
  const src = `src-${id}`;
  const source = { type: 'geojson', data: EMPTY, promoteId: 'i' };
  if (spec.cluster) {
    const states = LEGEND[id];
    Object.assign(source, {
      cluster: true, clusterRadius: 45, clusterMaxZoom: 15,
      clusterProperties: Object.fromEntries(states.map((s) => [s, ['+',
        s === 'stale' ? ['case', ['==', ['get', 'x'], 1], 1, 0]
          : ['case', ['all', ['==', ['get', 's'], s], ['!=', ['get', 'x'], 1]], 1, 0]]])),
    });
  }
  map.addSource(src, source);
  const ids = [];
  const add = (layer) => { map.addLayer({ source: src, ...layer }); ids.push(layer.id); };
  if (id === 'communes') {
    add({ id: `${id}-fill`, type: 'fill', paint: { 'fill-color': '#f8f9fa', 'fill-opacity': 0.9 } });
    add({ id: `${id}-line`, type: 'line', paint: { 'line-color': '#8795a5', 'line-width': 1.2,
      'line-dasharray': [3, 2] } });
  } else if (id === 'roads') {
    add({ id, type: 'line', layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: {
      'line-color': ['match', ['get', 's'], ['departementale', 'nationale'], '#f2c57c', '#ffffff'],
      'line-width': ['interpolate', ['linear'], ['zoom'], 9,
        ['match', ['get', 's'], ['departementale', 'nationale'], 1.6, 0.4], 16,
        ['match', ['get', 's'], ['departementale', 'nationale'], 9, 5]],
    } });
  } else if (id === 'buildings') {
    add({ id, type: 'fill', minzoom: 12, paint: { 'fill-color': BUILDING,
      'fill-outline-color': '#a89f94' } });
  } else if (id === 'industry') {
    add({ id, type: 'fill', paint: { 'fill-color': '#d64545', 'fill-opacity': 0.25 } });
    add({ id: `${id}-line`, type: 'line', paint: { 'line-color': '#b03030', 'line-width': 2 } });
  } else if (id === 'zones') {
    add({ id, type: 'line', paint: { 'line-color': '#2e9d4f', 'line-width': 1.5,
      'line-dasharray': [1, 2] } });
  } else {
    const colour = FIXED[id] || stateColour(LEGEND[id] || ['unknown']);
    const r = RADIUS[id] || 6;
    add({
      id, type: 'circle', filter: spec.cluster ? ['!', ['has', 'point_count']] : true,
      paint: {
        'circle-color': colour,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, r * 0.7, 17, r * 1.8],
        'circle-stroke-color': ['case', ['==', ['get', 'x'], 1], COLOURS.stale, '#ffffff'],
        'circle-stroke-width': ['case', ['==', ['get', 'x'], 1], 2.5, 1],
      },
    });
    if (spec.cluster) {
      // invisible but clickable discs under the HTML badges
      add({ id: `${id}-clusters`, type: 'circle', filter: ['has', 'point_count'],
        paint: { 'circle-radius': 16, 'circle-opacity': 0 } });
    }
  }
  return ids;
}

// HTML badges: the count and a pie of the states of each visible cluster
export class ClusterBadges {
  constructor(map, layerId) {
    this.map = map;
    this.layerId = layerId;
    this.src = `src-${layerId}`;
    this.markers = new Map();
    this.visible = true;
    this.queued = false;
    const update = () => {
      if (this.queued) return;
      this.queued = true;
      setTimeout(() => {
        this.queued = false;
        const t0 = performance.now();
        this.update();
        const p = window.hyperville?.prof;
        if (p) { const e = p.badges || (p.badges = { n: 0, max: 0, total: 0 }); e.n += 1; e.max = Math.max(e.max, performance.now() - t0); e.total += performance.now() - t0; }
      }, 100);
    };
    map.on('moveend', update);
    map.on('sourcedata', (e) => { if (e.sourceId === this.src && e.isSourceLoaded) update(); });
  }

  setVisible(v) { this.visible = v; this.update(); }

  update() {
    const keep = new Set();
    if (this.visible && this.map.getSource(this.src)) {
      const states = LEGEND[this.layerId];
      for (const f of this.map.querySourceFeatures(this.src, { filter: ['has', 'point_count'] })) {
        const p = f.properties;
        const key = `${p.cluster_id}:${p.point_count}:${states.map((s) => p[s]).join(',')}`;
        keep.add(key);
        if (this.markers.has(key)) continue;
        const el = document.createElement('div');
        el.className = `cluster ${this.layerId}`;
        let at = 0;
        const stops = [];
        for (const s of states) {
          const share = (p[s] || 0) / p.point_count * 100;
          if (share > 0) stops.push(`${COLOURS[s]} ${at}% ${at + share}%`);
          at += share;
        }
        el.style.background = `conic-gradient(${stops.join(',') || COLOURS.unknown})`;
        el.innerHTML = `<span>${number(p.point_count)}</span>`;
        el.title = states.filter((s) => p[s]).map((s) => `${t(`state.${s}`)} : ${p[s]}`).join('\n');
        const size = p.point_count >= 1000 ? 44 : p.point_count >= 100 ? 38 : 32;
        el.style.width = el.style.height = `${size}px`;
        const coords = f.geometry.coordinates;
        el.addEventListener('click', async (ev) => {
          ev.stopPropagation();
          const zoom = await this.map.getSource(this.src).getClusterExpansionZoom(p.cluster_id);
          this.map.easeTo({ center: coords, zoom });
        });
        this.markers.set(key, new maplibregl.Marker({ element: el }).setLngLat(coords).addTo(this.map));
      }
    }
    for (const [key, marker] of this.markers) {
      if (!keep.has(key)) { marker.remove(); this.markers.delete(key); }
    }
  }
}

// name labels (communes) and free-space badges (car parks) as HTML markers
export class Labels {
  constructor(map, className) {
    this.map = map;
    this.className = className;
    this.markers = new Map();
    this.hidden = false;
  }

  set(features, text) {
    const seen = new Set();
    for (const f of features) {
      const id = f.properties.i;
      seen.add(id);
      let marker = this.markers.get(id);
      if (!marker) {
        const el = document.createElement('div');
        el.className = this.className;
        marker = new maplibregl.Marker({ element: el }).setLngLat(anchor(f.geometry)).addTo(this.map);
        this.markers.set(id, marker);
      }
      const el = marker.getElement();
      const { label, state } = text(f.properties);
      el.textContent = label;
      el.dataset.state = state || '';
      el.dataset.id = id;
      el.hidden = this.hidden;
    }
    for (const [id, m] of this.markers) if (!seen.has(id)) { m.remove(); this.markers.delete(id); }
  }

  setVisible(v) {
    this.hidden = !v;
    for (const m of this.markers.values()) m.getElement().hidden = !v;
  }
}

export function anchor(geometry) {
  // a point inside most convex shapes: the mean of the outer ring
  let ring = geometry.coordinates;
  if (geometry.type === 'Point') return ring;
  if (geometry.type === 'MultiPolygon') {
    ring = ring.reduce((a, b) => (b[0].length > a[0].length ? b : a))[0];
  } else if (geometry.type === 'Polygon') ring = ring[0];
  else if (geometry.type === 'MultiLineString') ring = ring[0];
  const n = ring.length;
  const sum = ring.reduce((a, c) => [a[0] + c[0], a[1] + c[1]], [0, 0]);
  return [sum[0] / n, sum[1] / n];
}
