// HTML markers over the map: cluster badges (count and a ring of the states of their points),
// commune names and the free spaces of car parks. HTML needs no glyph server, so the map
// stays offline. A badge's ring is computed here from the live states the store holds (the
// cluster's points are asked once from the map's worker), so a reading recolours a badge
// without re-clustering its layer.
import * as maplibregl from 'maplibre-gl';
import { t, number } from './i18n.js';
import { COLOURS, LEGEND, sourceId } from './map.js';

export class ClusterBadges {
  constructor(map, layerId, store) {
    this.map = map;
    this.layerId = layerId;
    this.src = sourceId(layerId);
    this.store = store;
    this.badges = new Map(); // cluster id -> {marker, el, key, count}
    this.leaves = new Map(); // cluster id -> entity ids
    this.asked = new Set();
    this.visible = true;
    this.queued = false;
    this.dataVersion = store.dataVersion(layerId);
    map.on('moveend', () => this.schedule());
    map.once('idle', () => this.schedule());
    map.on('sourcedata', (e) => { if (e.sourceId === this.src && e.isSourceLoaded) this.schedule(); });
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    setTimeout(() => { this.queued = false; this.update(); }, 60);
  }

  setVisible(v) { this.visible = v; this.update(); }

  // the clusters on screen: add, keep or remove their badges
  update() {
    if (this.store.dataVersion(this.layerId) !== this.dataVersion) {
      this.dataVersion = this.store.dataVersion(this.layerId); // re-clustered: new cluster ids
      this.leaves.clear();
      this.asked.clear();
    }
    const keep = new Set();
    if (this.visible && this.map.getSource(this.src)) {
      for (const f of this.map.querySourceFeatures(this.src, { filter: ['has', 'point_count'] })) {
        const id = f.properties.cluster_id;
        if (keep.has(id)) continue;
        keep.add(id);
        if (!this.badges.has(id)) this.add(id, f.properties.point_count, f.geometry.coordinates);
        if (!this.leaves.has(id)) this.ask(id, f.properties.point_count);
      }
    }
    for (const [id, badge] of this.badges) {
      if (!keep.has(id)) { badge.marker.remove(); this.badges.delete(id); }
    }
    this.paint();
  }

  add(id, count, coords) {
    const el = document.createElement('div');
    el.className = `cluster ${this.layerId}`;
    const size = count >= 1000 ? 40 : count >= 100 ? 34 : 28;
    el.style.width = el.style.height = `${size}px`;
    el.innerHTML = `<span>${number(count)}</span>`;
    el.addEventListener('click', async (ev) => {
      ev.stopPropagation();
      const zoom = await this.map.getSource(this.src).getClusterExpansionZoom(id);
      this.map.easeTo({ center: coords, zoom });
    });
    const marker = new maplibregl.Marker({ element: el }).setLngLat(coords).addTo(this.map);
    this.badges.set(id, { marker, el, key: '', count });
  }

  async ask(id, count) {
    if (this.asked.has(id)) return;
    this.asked.add(id);
    try {
      const leaves = await this.map.getSource(this.src).getClusterLeaves(id, count, 0);
      this.leaves.set(id, leaves.map((f) => f.properties.i));
      this.paint();
    } catch { this.asked.delete(id); } // the source changed meanwhile: asked again later
  }

  // the rings of the badges from the states in the store (cheap: no map work)
  paint() {
    const states = LEGEND[this.layerId];
    for (const [id, badge] of this.badges) {
      const ids = this.leaves.get(id);
      if (!ids) continue;
      const counts = Object.fromEntries(states.map((s) => [s, 0]));
      for (const entityId of ids) {
        const p = this.store.get(this.layerId, entityId)?.properties;
        if (!p) continue;
        const s = p.x ? 'stale' : this.store.shown(this.layerId, p);
        counts[s in counts ? s : 'unknown'] += 1;
      }
      const key = states.map((s) => counts[s]).join(',');
      if (key === badge.key) continue;
      badge.key = key;
      let at = 0;
      const stops = [];
      for (const s of states) {
        const share = (counts[s] / ids.length) * 100;
        if (share > 0) stops.push(`${COLOURS[s]} ${at.toFixed(1)}% ${(at + share).toFixed(1)}%`);
        at += share;
      }
      badge.el.style.background = `conic-gradient(${stops.join(',') || COLOURS.unknown})`;
      badge.el.title = states.filter((s) => counts[s]).map((s) => `${t(`state.${s}`)} : ${number(counts[s])}`).join('\n');
    }
  }
}

// name labels (communes) and free-space badges (car parks)
export class Labels {
  constructor(map, className) {
    this.map = map;
    this.className = className;
    this.markers = new Map();
    this.hidden = false;
  }

  set(features, text, anchorOf) {
    const seen = new Set();
    for (const f of features) {
      const id = f.properties.i;
      seen.add(id);
      let marker = this.markers.get(id);
      if (!marker) {
        const el = document.createElement('div');
        el.className = this.className;
        el.dataset.id = id;
        el.hidden = this.hidden;
        marker = new maplibregl.Marker({ element: el }).setLngLat(anchorOf(f.geometry)).addTo(this.map);
        this.markers.set(id, marker);
      }
      const el = marker.getElement();
      const { label, state } = text(f.properties);
      if (el.textContent !== label) el.textContent = label;
      if (el.dataset.state !== (state || '')) el.dataset.state = state || '';
    }
    for (const [id, m] of this.markers) if (!seen.has(id)) { m.remove(); this.markers.delete(id); }
  }

  setVisible(v) {
    this.hidden = !v;
    for (const m of this.markers.values()) m.getElement().hidden = !v;
  }
}
