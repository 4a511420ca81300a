// The operations screen of hyperville: map, layers, KPI tiles, alarms, live updates, detail,
// search. The first render needs only this file: the page carries its configuration and has
// already asked for the point layers; the detail panel and the completeness view are loaded
// when the map is drawn (lazy chunks).
import * as maplibregl from 'maplibre-gl';
import { t, setLang, getLang } from './i18n.js';
import { createMap, showExternal, anchor, select } from './map.js';
import { ClusterBadges, Labels } from './markers.js';
import { PointStore } from './points.js';
import { renderKpis } from './kpis.js';
import { AlarmPanel } from './alarms.js';
import { Live } from './live.js';
import { renderSidebar } from './sidebar.js';
import { initSearch } from './search.js';

const config = JSON.parse(document.getElementById('hyperville-config').textContent);
maplibregl.setWorkerUrl(new URL(config.assets.worker, location.href).href);

const app = document.getElementById('app');
const state = {
  config, map: null, store: null, styleIds: {}, visible: {}, kpis: null, skew: 0, badges: {},
  ready: false, changesSeen: 0, prof: {},
};
window.hyperville = state; // for tests and the benchmark
const timed = (name, fn) => (...a) => {
  const t0 = performance.now();
  try { return fn(...a); } finally {
    const d = performance.now() - t0;
    const p = state.prof[name] || (state.prof[name] = { n: 0, max: 0, total: 0 });
    p.n += 1; p.total += d; p.max = Math.max(p.max, d);
  }
};

const prefs = (() => { try { return JSON.parse(localStorage.getItem('hyperville.layers')) || {}; } catch { return {}; } })();
const savePrefs = () => { try { localStorage.setItem('hyperville.layers', JSON.stringify(prefs)); } catch { /* private mode */ } };
const urlLang = new URLSearchParams(location.search).get('lang');
setLang(urlLang || (() => { try { return localStorage.getItem('hyperville.lang'); } catch { return null; } })() || app.dataset.lang || 'fr');

app.innerHTML = `
  <header class="top">
    <div class="brand"><strong>hyperville</strong> <span data-t="title"></span></div>
    <nav class="modules"><a class="on" href="/" data-t="map"></a></nav>
    <div class="search"><input type="search" id="search" autocomplete="off">
      <ul id="results" hidden></ul></div>
    <button id="alarm-btn" class="alarm-btn"></button>
    <button id="report-btn" data-t="completeness"></button>
    <span id="conn" class="conn"></span>
    <div class="lang" role="group"><button data-lang="fr">FR</button><button data-lang="en">EN</button></div>
    <a class="about" href="/about" data-t="about"></a>
  </header>
  <main class="body">
    <aside class="side"><section id="kpis"></section><section id="layers"></section></aside>
    <div id="map"></div>
    <aside class="context"><section id="alarms" class="alarms"></section>
      <section id="detail" class="detail" hidden></section></aside>
  </main>
  <div id="report" class="modal" hidden></div>`;

const $ = (id) => document.getElementById(id);
const nowS = () => Date.now() / 1000 + state.skew;
const specOf = (id) => config.layers.find((l) => l.id === id);
const HIDDEN_FIRST = ['zones']; // drawn on demand: their outlines would blur the communes'
for (const l of config.layers) state.visible[l.id] = prefs[l.id] ?? !HIDDEN_FIRST.includes(l.id);
state.external = Boolean(config.basemap) && (prefs.external ?? true);

// -- the right column: the alarm list, or the detail of one entity ---------------------------
const alarmsOpen = () => prefs.alarms ?? true;
const context = document.querySelector('.context');
function showContext() {
  const detailOpen = !$('detail').hidden;
  $('alarms').hidden = detailOpen || !alarmsOpen();
  context.hidden = !detailOpen && !alarmsOpen();
  $('alarm-btn').classList.toggle('on', alarmsOpen());
  state.map?.resize();
}
const alarms = new AlarmPanel($('alarms'), $('alarm-btn'), {
  nowS,
  onPick: (a) => {
    state.map?.flyTo({ center: a.center, zoom: Math.max(state.map.getZoom(), 16) });
    openEntity(a.entity);
  },
});
$('alarm-btn').onclick = () => {
  if (!$('detail').hidden) { detail?.close(); prefs.alarms = true; } else prefs.alarms = !alarmsOpen();
  savePrefs();
  showContext();
  alarms.render();
};

let detail = null;
const detailModule = () => import('./detail.js');
async function openEntity(id) {
  if (!detail) {
    const { Detail } = await detailModule();
    detail ||= new Detail($('detail'), Object.fromEntries(config.layers.flatMap((l) => l.types.map((ty) => [ty, l]))), {
      onClose: () => { select(state.map, null); showContext(); alarms.render(); },
      onLocate: (geometry) => state.map.flyTo({ center: anchor(geometry), zoom: Math.max(state.map.getZoom(), 16) }),
      onShown: (entity) => select(state.map, entity.location?.value),
    });
  }
  $('detail').hidden = false;
  showContext();
  detail.open(id);
}

// -- language --------------------------------------------------------------------------------
function translate() {
  for (const el of app.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('search').placeholder = t('search');
  for (const b of app.querySelectorAll('[data-lang]')) b.classList.toggle('on', b.dataset.lang === getLang());
  document.title = `hyperville — ${t('title')}`;
  sidebar();
  renderKpis($('kpis'), state.kpis, nowS(), openEntity);
  alarms.render();
  detail?.render();
  live.status();
}
for (const b of app.querySelectorAll('[data-lang]')) {
  b.onclick = () => {
    setLang(b.dataset.lang);
    const url = new URL(location.href);
    url.searchParams.set('lang', getLang());
    history.replaceState(null, '', url);
    translate();
  };
}

// -- layers ----------------------------------------------------------------------------------
function sidebar() {
  renderSidebar($('layers'), {
    config, visible: state.visible, external: state.external, count: (id) => state.store?.size(id),
  }, { toggle, setExternal });
}

function toggle(layerId, on) {
  state.visible[layerId] = on;
  prefs[layerId] = on;
  savePrefs();
  for (const id of state.styleIds[layerId] || []) {
    const shown = on && !(id === 'roads' && state.external);
    state.map.setLayoutProperty(id, 'visibility', shown ? 'visible' : 'none');
  }
  state.badges[layerId]?.setVisible(on);
  if (layerId === 'communes') communeLabels?.setVisible(on);
  if (layerId === 'parking') parkingLabels?.setVisible(on);
  sidebar();
}

function setExternal(on) {
  state.external = on;
  prefs.external = on;
  savePrefs();
  showExternal(state.map, on, state.visible.roads);
}

// -- the screen's clock ----------------------------------------------------------------------
// The map is told of changes once a second and the HTML (labels, badges, tiles, alarms) is
// redrawn half a second later, so that one frame never carries both: a map frame costs about
// 100 ms on a software renderer, and HTML layout on top of it would make a long task.
const pending = { layers: new Set(), kpis: false };
function mapTick() {
  if (!state.store || !state.mapReady) return;
  for (const id of timed('flush', () => state.store.flush())()) pending.layers.add(id);
}
function htmlTick() {
  for (const id of pending.layers) state.badges[id]?.paint();
  if (pending.layers.has('parking')) parkingLabels.set(state.store.values('parking'), parkingText, anchor);
  pending.layers.clear();
  if (pending.kpis) {
    pending.kpis = false;
    timed('kpis', renderKpis)($('kpis'), state.kpis, nowS(), openEntity);
  }
  if (alarms.dirty) timed('alarms', () => alarms.render())();
}
setInterval(mapTick, 1000);
setTimeout(() => setInterval(htmlTick, 1000), 500);

// -- KPIs ------------------------------------------------------------------------------------
let kpiTimer = null;
let kpiLast = 0;
function scheduleKpis() {
  if (kpiTimer) return;
  const wait = Math.max(0, 1000 - (Date.now() - kpiLast));
  kpiTimer = setTimeout(async () => { kpiTimer = null; kpiLast = Date.now(); await loadKpis(false); }, wait);
}
async function loadKpis(now = true) {
  const res = await fetch('/api/v1/kpis');
  if (!res.ok) return;
  state.kpis = await res.json();
  if (now) renderKpis($('kpis'), state.kpis, nowS(), openEntity);
  else pending.kpis = true;
}

// -- live changes ----------------------------------------------------------------------------
let communeLabels = null;
let parkingLabels = null;
const parkingText = (p) => ({ label: p.v != null ? String(p.v) : '–', state: p.x ? 'stale' : p.s });
let waiting = []; // changes that came before the point layers were read
const refetch = {};

function applyChanges(changes) {
  if (!state.store) { waiting.push(...changes); return; }
  for (const c of changes) {
    state.changesSeen += 1;
    if (!c.layer) { detail?.changed(c.id); continue; }
    if (!state.store.apply(c)) {
      // a layer drawn by the worker only (roads, buildings…): read again a little later
      clearTimeout(refetch[c.layer]);
      refetch[c.layer] = setTimeout(() => {
        state.map.getSource(`src-${c.layer}`)?.setData(`${specOf(c.layer).url}?v=${Date.now()}`);
      }, 2000);
    }
    detail?.changed(c.id);
  }
  scheduleKpis();
}

// a point layer read by the page, as the server served it (its ETag)
async function readLayer(spec) {
  const res = await fetch(spec.url);
  const body = await res.json();
  return { spec, etag: res.headers.get('etag'), features: body.features };
}
const pointSpecs = config.layers.filter((l) => l.geometry === 'point');
const reads = pointSpecs.map(readLayer);
let storeLoaded;
const storeReady = new Promise((resolve) => { storeLoaded = resolve; });
const communesRead = fetch(specOf('communes').url).then((r) => r.json());
const etags = {};

const live = new Live($('conn'), {
  onHello: async (body) => {
    state.skew = body.t - Date.now() / 1000;
    await storeReady;
    // a layer that changed between the page's read and the stream's start: read it again
    for (const spec of pointSpecs) {
      if (body.versions[spec.id] && etags[spec.id] && body.versions[spec.id] !== etags[spec.id]) {
        const again = await readLayer(spec);
        etags[spec.id] = again.etag;
        state.store.load(spec.id, again.features);
        state.map.getSource(`src-${spec.id}`)?.setData(spec.url);
      }
    }
  },
  onChanges: timed('changes', applyChanges),
  onAlarms: (body) => (body.all ? alarms.replace(body.all) : alarms.update(body.raised, body.cleared)),
  onReload: () => location.reload(),
});

// -- start -----------------------------------------------------------------------------------
async function boot() {
  translate();
  showContext();
  const { map, styleIds, styleLoaded } = createMap('map', config, state.visible, state.external);
  state.map = map;
  state.styleIds = styleIds;
  live.start(pointSpecs.flatMap((s) => s.types));
  loadKpis();
  communeLabels = new Labels(map, 'commune-label');
  parkingLabels = new Labels(map, 'parking-label');
  const store = new PointStore(map, pointSpecs, nowS);
  for (const { spec, etag, features } of await Promise.all(reads)) {
    etags[spec.id] = etag;
    store.load(spec.id, features);
  }
  state.store = store;
  storeLoaded();
  sidebar();
  communeLabels.set((await communesRead).features, (p) => ({ label: p.n }), anchor);
  communeLabels.setVisible(state.visible.communes);
  parkingLabels.set(store.values('parking'), parkingText, anchor);
  parkingLabels.setVisible(state.visible.parking);
  await styleLoaded; // feature states may be set from now on, before the first frame
  state.mapReady = true;
  applyChanges(waiting.splice(0));
  mapTick();
  for (const spec of pointSpecs.filter((s) => s.cluster)) {
    state.badges[spec.id] = new ClusterBadges(map, spec.id, store);
    state.badges[spec.id].setVisible(state.visible[spec.id]);
  }
  const clickable = Object.entries(styleIds)
    .filter(([id]) => !['communes', 'roads'].includes(id)).flatMap(([, ids]) => ids);
  const hit = (e) => map.queryRenderedFeatures(e.point, { layers: clickable.filter((i) => map.getLayer(i)) });
  map.on('click', (e) => {
    const f = hit(e)[0];
    if (!f) return;
    if (f.properties.cluster_id != null) {
      const src = map.getSource(f.source);
      src.getClusterExpansionZoom(f.properties.cluster_id).then((zoom) => map.easeTo({ center: f.geometry.coordinates, zoom }));
    } else openEntity(f.properties.i);
  });
  map.on('mousemove', (e) => { map.getCanvas().style.cursor = hit(e).length ? 'pointer' : ''; });
  app.addEventListener('click', (e) => {
    const label = e.target.closest('.parking-label');
    if (label) openEntity(label.dataset.id);
  });
  await new Promise((resolve) => (map.areTilesLoaded() && !map.isMoving() ? resolve() : map.once('idle', resolve)));
  state.ready = true;
  performance.mark('hyperville-ready');
  // what the first render did not need
  map.getSource('src-buildings').setData(specOf('buildings').url);
  map.once('idle', () => { state.buildingsReady = true; });
  detailModule();
  setInterval(() => { store.sweep(); pending.kpis = true; alarms.dirty = true; }, 30000);
}

initSearch($('search'), $('results'), (r) => {
  if (r.center) state.map.flyTo({ center: r.center, zoom: Math.max(state.map.getZoom(), 16) });
  openEntity(r.id);
});
$('report-btn').onclick = async () => (await import('./report.js')).openReport($('report'));

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
boot().catch((err) => {
  console.error(err); // eslint-disable-line no-console
  app.insertAdjacentHTML('beforeend', `<p class="fatal">${escapeHtml(err.message)}</p>`);
});
