// The map: one style built at start, drawn offline from the twin's own layers (or over an
// external raster basemap when the server is configured with one). Each hyperville layer is
// one GeoJSON source the map's worker fetches and tiles itself. Live states are feature
// states ({s: state, x: 1 when the sensor is silent}) set by points.js: a reading recolours a
// point without re-tiling its layer.
import * as maplibregl from 'maplibre-gl';

export const COLOURS = {
  free: '#2e9d4f', busy: '#f0a020', full: '#d64545',
  on: '#f5c400', dim: '#b68a1c', off: '#34495e', fault: '#d64545',
  low: '#2e9d4f', mid: '#f0a020', high: '#d64545',
  calm: '#2e9d4f', crowded: '#d64545',
  fluid: '#2e9d4f', dense: '#f0a020', jam: '#d64545',
  ok: '#2b7bb9', info: '#f0a020', alert: '#d64545',
  unknown: '#9aa5b1', stale: '#8e44ad',
};

// states shown in each layer's legend (and counted in its cluster badges)
export const LEGEND = {
  parking: ['free', 'busy', 'full', 'unknown', 'stale'],
  lights: ['on', 'dim', 'off', 'fault', 'unknown', 'stale'],
  cabinets: ['on', 'off', 'unknown', 'stale'],
  containers: ['low', 'mid', 'high', 'unknown', 'stale'],
  recycling: ['calm', 'busy', 'crowded', 'unknown', 'stale'],
  traffic: ['fluid', 'dense', 'jam', 'unknown', 'stale'],
  environment: ['ok', 'info', 'alert', 'unknown', 'stale'],
};

const BUILDING = ['match', ['get', 's'],
  'public', '#c9a27e', 'industrial', '#b0a7c4', 'commercial', '#d7b9b0', '#d9d4cc'];
const STATE = ['coalesce', ['feature-state', 's'], ['get', 's']];
const STALE = ['==', ['coalesce', ['feature-state', 'x'], 0], 1];

const stateColour = (states) => {
  const expr = ['match', STATE];
  for (const s of states) if (s !== 'stale') expr.push(s, COLOURS[s]);
  expr.push(COLOURS.unknown);
  return ['case', STALE, COLOURS.stale, expr];
};

const FIXED = { stations: '#12355b' };
const RADIUS = { lights: 3.5, containers: 5, parking: 9, cabinets: 5, recycling: 9,
  traffic: 7, environment: 8, stations: 6 };
const EMPTY = { type: 'FeatureCollection', features: [] };
const LAND = '#f7f6f2';

export const sourceId = (layerId) => `src-${layerId}`;

// the style layers of one hyperville layer (their ids are what the toggles switch)
function styleLayers(spec, visible, external) {
  const id = spec.id;
  const source = sourceId(id);
  const layout = { visibility: visible ? 'visible' : 'none' };
  const out = [];
  const add = (layer) => out.push({ source, ...layer, layout: { ...layout, ...layer.layout } });
  if (id === 'communes') {
    add({ id: `${id}-fill`, type: 'fill', paint: { 'fill-color': LAND,
      'fill-opacity': external ? 0.12 : 1 } });
    add({ id: `${id}-line`, type: 'line', paint: { 'line-color': '#8795a5',
      'line-width': ['interpolate', ['linear'], ['zoom'], 9, 0.8, 14, 2], 'line-dasharray': [3, 2] } });
  } else if (id === 'roads') {
    add({ id, type: 'line', layout: { 'line-cap': 'round', 'line-join': 'round',
      visibility: visible && !external ? 'visible' : 'none' }, paint: {
      'line-color': ['match', ['get', 's'], ['departementale', 'nationale'], '#f2c57c', '#ffffff'],
      'line-width': ['interpolate', ['linear'], ['zoom'], 9,
        ['match', ['get', 's'], ['departementale', 'nationale'], 1.6, 0.5], 16,
        ['match', ['get', 's'], ['departementale', 'nationale'], 9, 5]],
    } });
  } else if (id === 'buildings') {
    add({ id, type: 'fill', minzoom: 12, paint: { 'fill-color': BUILDING,
      'fill-outline-color': '#a89f94' } });
  } else if (id === 'industry') {
    add({ id, type: 'fill', paint: { 'fill-color': '#d64545', 'fill-opacity': 0.18 } });
    add({ id: `${id}-line`, type: 'line', paint: { 'line-color': '#b03030', 'line-width': 1.5 } });
  } else if (id === 'zones') {
    add({ id, type: 'line', paint: { 'line-color': '#2e9d4f', 'line-width': 1.2,
      'line-dasharray': [1, 2] } });
  } else {
    const r = RADIUS[id] || 6;
    add({
      id, type: 'circle', filter: spec.cluster ? ['!', ['has', 'point_count']] : true,
      paint: {
        'circle-color': FIXED[id] || stateColour(LEGEND[id] || ['unknown']),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, r * 0.7, 17, r * 1.8],
        'circle-stroke-color': ['case', STALE, COLOURS.stale, '#ffffff'],
        'circle-stroke-width': ['case', STALE, 2.5, 1],
      },
    });
    if (spec.cluster) {
      // invisible but clickable discs under the HTML badges of the clusters
      add({ id: `${id}-clusters`, type: 'circle', filter: ['has', 'point_count'],
        paint: { 'circle-radius': 18, 'circle-opacity': 0 } });
    }
  }
  return out;
}

// the whole style: background, optional raster basemap, one source per hyperville layer
export function createMap(container, config, visible, external) {
  const sources = {};
  const layers = [{ id: 'bg', type: 'background', paint: { 'background-color': '#dfe6ec' } }];
  const base = config.basemap;
  if (base) {
    sources.external = { type: 'raster', tiles: base.tiles, tileSize: base.tileSize,
      maxzoom: base.maxzoom, attribution: base.attribution };
    layers.push({ id: 'external', type: 'raster', source: 'external',
      layout: { visibility: external ? 'visible' : 'none' } });
  }
  const styleIds = {};
  for (const spec of config.layers) {
    sources[sourceId(spec.id)] = {
      type: 'geojson', promoteId: 'i',
      data: spec.id === 'buildings' ? EMPTY : spec.url, // buildings: once the rest is drawn
      ...(spec.cluster ? { cluster: true, clusterRadius: 60, clusterMaxZoom: 15 } : {}),
    };
    const own = styleLayers(spec, visible[spec.id], base && external);
    styleIds[spec.id] = own.map((l) => l.id);
    layers.push(...own);
  }
  // the entity open in the detail panel, ringed
  sources.selection = { type: 'geojson', data: EMPTY };
  layers.push({ id: 'selection', type: 'circle', source: 'selection', paint: {
    'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 9, 17, 18], 'circle-opacity': 0,
    'circle-stroke-color': '#12355b', 'circle-stroke-width': 3 } });
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources, layers },
    bounds: config.bounds || [0.3, 49.4, 0.9, 49.75],
    fitBoundsOptions: { padding: 20 },
    attributionControl: base ? { compact: true } : false,
    maxZoom: 19,
    fadeDuration: 0,
  });
  const styleLoaded = new Promise((resolve) => map.once('style.load', resolve));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  return { map, styleIds, styleLoaded };
}

// the external basemap under the twin's layers, or the offline map alone
export function showExternal(map, on, roadsVisible) {
  if (!map.getLayer('external')) return;
  map.setLayoutProperty('external', 'visibility', on ? 'visible' : 'none');
  map.setPaintProperty('communes-fill', 'fill-opacity', on ? 0.12 : 1);
  map.setLayoutProperty('roads', 'visibility', roadsVisible && !on ? 'visible' : 'none');
}

// ring the entity open in the detail panel (null: none)
export function select(map, geometry) {
  map.getSource('selection')?.setData(geometry
    ? { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: anchor(geometry) } } : EMPTY);
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
