// The operations screen of hyperville: map, layers, KPI tiles, live updates, detail, search.
import * as maplibregl from 'maplibre-gl';
import { t, setLang, getLang } from './i18n.js';
import { createMap, addLayer, ClusterBadges, Labels } from './map.js';
import { Detail } from './detail.js';
import { renderKpis } from './kpis.js';
import { openReport } from './report.js';
import { Live } from './live.js';
import { renderSidebar } from './sidebar.js';

maplibregl.setWorkerUrl(new URL('./maplibre-gl-worker.mjs', import.meta.url).href);

const app = document.getElementById('app');
const state = {
  config: null, map: null, styleIds: {}, visible: {}, points: {}, pending: {},
  kpis: null, skew: 0, badges: {}, ready: false, changesSeen: 0,
};
window.hyperville = state; // for tests and the benchmark
state.prof = {};
const timed = (name, fn) => (...a) => {
  const t0 = performance.now();
  try { return fn(...a); } finally {
    const d = performance.now() - t0;
    const p = state.prof[name] || (state.prof[name] = { n: 0, max: 0, total: 0 });
    p.n += 1; p.total += d; p.max = Math.max(p.max, d);
  }
};

const saved = (() => { try { return JSON.parse(localStorage.getItem('hyperville.layers')) || {}; } catch { return {}; } })();
const urlLang = new URLSearchParams(location.search).get('lang');
setLang(urlLang || (() => { try { return localStorage.getItem('hyperville.lang'); } catch { return null; } })() || app.dataset.lang || 'fr');

app.innerHTML = `
  <header class="top">
    <div class="brand"><strong>hyperville</strong> <span data-t="title"></span></div>
    <nav class="modules"><a class="on" href="/" data-t="map"></a></nav>
    <div class="search"><input type="search" id="search" autocomplete="off">
      <ul id="results" hidden></ul></div>
    <button id="report-btn" data-t="completeness"></button>
    <span id="conn" class="conn"></span>
    <div class="lang" role="group"><button data-lang="fr">FR</button><button data-lang="en">EN</button></div>
    <a class="about" href="/about" data-t="about"></a>
  </header>
  <main class="body">
    <aside class="side"><section id="kpis"></section><section id="layers"></section></aside>
    <div id="map"></div>
    <aside id="detail" class="detail" hidden></aside>
  </main>
  <div id="report" class="modal" hidden></div>`;

const nowS = () => Date.now() / 1000 + state.skew;
const specOf = (id) => state.config.layers.find((l) => l.id === id);

function translate() {
  for (const el of app.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  document.getElementById('search').placeholder = t('search');
  for (const b of app.querySelectorAll('[data-lang]')) b.classList.toggle('on', b.dataset.lang === getLang());
  document.title = `hyperville — ${t('title')}`;
  if (state.config) {
    renderSidebar(document.getElementById('layers'), state, toggle);
    renderKpis(document.getElementById('kpis'), state.kpis, nowS(), openEntity);
    detail.render();
    live.status();
  }
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

const detail = new Detail(document.getElementById('detail'), {}, () => {});
function openEntity(id) { detail.open(id); }

function toggle(layerId, on) {
  state.visible[layerId] = on;
  try { localStorage.setItem('hyperville.layers', JSON.stringify(state.visible)); } catch { /* */ }
  for (const id of state.styleIds[layerId] || []) {
    state.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }
  state.badges[layerId]?.setVisible(on);
  if (layerId === 'communes') communeLabels?.setVisible(on);
  if (layerId === 'parking') parkingLabels?.setVisible(on);
}

// -- point layers held on the main thread (live state, stale flag) -----------------------
function markStale(layerId, feature) {
  const spec = specOf(layerId);
  const p = feature.properties;
  const stale = spec.staleAfter && p.o != null && nowS() - p.o > spec.staleAfter ? 1 : 0;
  if ((p.x || 0) !== stale) { p.x = stale; return true; }
  return false;
}

// send only what changed to the map's worker; big layers at most once a second
const lastFlush = {};
function flush() {
  const now = Date.now();
  for (const [layerId, changed] of Object.entries(state.pending)) {
    if (!changed.size) continue;
    const store = state.points[layerId];
    if (store.size > 2000 && now - (lastFlush[layerId] || 0) < 900) continue;
    lastFlush[layerId] = now;
    const source = state.map.getSource(`src-${layerId}`);
    const ids = [...changed.keys()];
    if (changed.size > store.size / 4) {
      source?.setData({ type: 'FeatureCollection', features: [...store.values()] });
    } else {
      source?.updateData({ remove: ids, add: [...changed.values()].filter(Boolean) });
    }
    changed.clear();
    if (layerId === 'parking') parkingLabels.set([...store.values()], parkingText);
  }
}

function parkingText(p) {
  return { label: p.v != null ? String(p.v) : '–', state: p.x ? 'stale' : p.s };
}

function applyChanges(changes) {
  for (const c of changes) {
    state.changesSeen += 1;
    if (!c.layer) continue;
    const store = state.points[c.layer];
    if (store) {
      if (c.feature) { markStale(c.layer, c.feature); store.set(c.id, c.feature); } else store.delete(c.id);
      state.pending[c.layer].set(c.id, c.feature);
    } else {
      // a static layer (buildings, roads…): refetch it a little later
      clearTimeout(state[`refetch-${c.layer}`]);
      state[`refetch-${c.layer}`] = setTimeout(() => {
        state.map.getSource(`src-${c.layer}`)?.setData(`${specOf(c.layer).url}?v=${Date.now()}`);
      }, 2000);
    }
    detail.changed(c.id);
  }
  scheduleKpis();
}

let kpiTimer = null;
let kpiLast = 0;
function scheduleKpis() {
  if (kpiTimer) return;
  const wait = Math.max(0, 1000 - (Date.now() - kpiLast));
  kpiTimer = setTimeout(async () => { kpiTimer = null; kpiLast = Date.now(); await loadKpis(); }, wait);
}

async function loadKpis() {
  const res = await fetch('/api/v1/kpis');
  if (!res.ok) return;
  state.kpis = await res.json();
  timed('kpis', renderKpis)(document.getElementById('kpis'), state.kpis, nowS(), openEntity);
}

let communeLabels = null;
let parkingLabels = null;

async function boot() {
  translate();
  const config = await (await fetch('/api/v1/ui/config')).json();
  state.config = config;
  detail.specsByType = Object.fromEntries(config.layers.flatMap((l) => l.types.map((ty) => [ty, l])));
  for (const l of config.layers) state.visible[l.id] = saved[l.id] ?? true;
  const map = createMap('map', config, saved.external ?? false);
  state.map = map;
  communeLabels = new Labels(map, 'commune-label');
  parkingLabels = new Labels(map, 'parking-label');
  renderSidebar(document.getElementById('layers'), state, toggle);
  loadKpis();
  await new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));
  const clickable = [];
  for (const spec of config.layers) {
    const ids = addLayer(map, spec);
    state.styleIds[spec.id] = ids;
    if (!['communes', 'roads'].includes(spec.id)) clickable.push(...ids.filter((i) => !i.endsWith('-clusters')));
    if (spec.cluster) state.badges[spec.id] = new ClusterBadges(map, spec.id);
    if (!state.visible[spec.id]) toggle(spec.id, false);
  }
  const loads = config.layers.map(async (spec) => {
    const src = map.getSource(`src-${spec.id}`);
    if (spec.geometry === 'point' || spec.id === 'communes') {
      const body = await (await fetch(spec.url)).json();
      if (spec.geometry === 'point') {
        state.points[spec.id] = new Map(body.features.map((f) => [f.properties.i, f]));
        state.pending[spec.id] = new Map();
        for (const f of body.features) markStale(spec.id, f);
        if (spec.id === 'parking') parkingLabels.set(body.features, parkingText);
      } else {
        communeLabels.set(body.features, (p) => ({ label: p.n }));
      }
      src.setData(body);
    } else if (spec.id !== 'buildings') {
      src.setData(spec.url); // parsed in the map's worker, off the main thread
    }
  });
  await Promise.all(loads);
  // buildings (30,000 polygons, drawn from zoom 12) load once the overview is on screen
  map.once('idle', () => {
    state.ready = true;
    performance.mark('hyperville-ready');
    map.getSource('src-buildings').setData(specOf('buildings').url);
    map.once('idle', () => { state.buildingsReady = true; });
  });
  map.on('click', (e) => {
    const hits = map.queryRenderedFeatures(e.point, { layers: clickable.filter((i) => map.getLayer(i)) });
    if (hits.length) openEntity(hits[0].properties.i);
  });
  map.on('mousemove', (e) => {
    const hits = map.queryRenderedFeatures(e.point, { layers: clickable.filter((i) => map.getLayer(i)) });
    map.getCanvas().style.cursor = hits.length ? 'pointer' : '';
  });
  app.addEventListener('click', (e) => {
    const label = e.target.closest('.parking-label');
    if (label) openEntity(label.dataset.id);
  });
  live.start(Object.keys(state.points).flatMap((id) => specOf(id).types));
  setInterval(timed('flush', flush), 1000); // one map update a second: each costs a frame
  setInterval(() => {
    for (const [layerId, store] of Object.entries(state.points)) {
      for (const f of store.values()) if (markStale(layerId, f)) state.pending[layerId].set(f.properties.i, f);
    }
    if (state.kpis) renderKpis(document.getElementById('kpis'), state.kpis, nowS(), openEntity);
  }, 30000);
}

const live = new Live(document.getElementById('conn'), {
  onHello: (serverT) => { state.skew = serverT - Date.now() / 1000; },
  onChanges: timed('changes', applyChanges),
  onReload: () => location.reload(),
});

// -- search ------------------------------------------------------------------------------
const input = document.getElementById('search');
const results = document.getElementById('results');
let searchTimer = null;
input.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = input.value.trim();
    if (q.length < 2) { results.hidden = true; return; }
    const body = await (await fetch(`/api/v1/ui/search?q=${encodeURIComponent(q)}`)).json();
    if (input.value.trim() !== q) return;
    results.innerHTML = body.results.length ? body.results.map((r, i) => `<li data-i="${i}">
      <strong>${escapeHtml(r.name || r.id.split(':').pop())}</strong>
      <span>${escapeHtml(r.type)}${r.commune ? ` · ${escapeHtml(r.commune)}` : ''}</span></li>`).join('')
      : `<li class="muted">${t('noResult')}</li>`;
    results.hidden = false;
    for (const li of results.querySelectorAll('[data-i]')) {
      li.onclick = () => {
        const r = body.results[Number(li.dataset.i)];
        results.hidden = true;
        if (r.center) state.map.flyTo({ center: r.center, zoom: Math.max(state.map.getZoom(), 16) });
        openEntity(r.id);
      };
    }
  }, 200);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') results.querySelector('[data-i]')?.click();
  if (e.key === 'Escape') results.hidden = true;
});

document.getElementById('report-btn').onclick = () => openReport(document.getElementById('report'));

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

boot().catch((err) => {
  console.error(err); // eslint-disable-line no-console
  app.insertAdjacentHTML('beforeend', `<p class="fatal">${escapeHtml(err.message)}</p>`);
});
