// The live point layers held on the main thread: every feature by id, its state, and whether
// its sensor is silent. Changes from the server are folded in as they come; the map is told
// when main.js's clock says so (once a second), in one go, as feature states (a recolour, no
// re-tiling). Only a new, moved or deleted point goes through the source's updateData.
//
// A streetlight without telemetry of its own shows the state of its control cabinet (as the
// KPI tile counts it): most lights are switched by their cabinet, not one by one.
import { sourceId } from './map.js';

const samePlace = (a, b) => a && b && a.type === 'Point' && b.type === 'Point'
  && a.coordinates[0] === b.coordinates[0] && a.coordinates[1] === b.coordinates[1];
const shortId = (id) => id.slice(id.lastIndexOf(':') + 1);

export class PointStore {
  constructor(map, specs, nowS) {
    this.map = map;
    this.specs = Object.fromEntries(specs.map((s) => [s.id, s]));
    this.nowS = nowS;
    this.layers = {}; // layer id -> Map(entity id -> feature)
    this.states = {}; // layer id -> Map(entity id -> properties) to send as feature states
    this.moves = {}; // layer id -> Map(entity id -> feature or null) to send as data
    this.versions = {}; // layer id -> data version (new cluster ids when it changes)
    this.lightsOf = new Map(); // cabinet short id -> ids of its lights
  }

  get(layerId, id) { return this.layers[layerId]?.get(id); }

  values(layerId) { return this.layers[layerId]?.values() ?? []; }

  size(layerId) { return this.layers[layerId]?.size; }

  dataVersion(layerId) { return this.versions[layerId] || 0; }

  stale(layerId, p) {
    const after = this.specs[layerId].staleAfter;
    return after && p.o != null && this.nowS() - p.o > after ? 1 : 0;
  }

  // the state drawn for a feature: its own, or for a streetlight without one, its cabinet's
  shown(layerId, p) {
    if (layerId !== 'lights' || p.s !== 'unknown' || !p.k) return p.s;
    const cabinet = this.cabinets?.get(p.k)?.properties;
    return cabinet && !cabinet.x ? cabinet.s : 'unknown';
  }

  load(layerId, features) {
    const byId = new Map();
    const states = new Map();
    for (const f of features) {
      const p = f.properties;
      p.x = this.stale(layerId, p);
      byId.set(p.i, f);
      if (p.x) states.set(p.i, p);
    }
    this.layers[layerId] = byId;
    this.states[layerId] = states;
    this.moves[layerId] = new Map();
    if (layerId === 'cabinets') {
      this.cabinets = new Map([...byId.values()].map((f) => [shortId(f.properties.i), f]));
    }
    if (layerId === 'lights') {
      this.lightsOf.clear();
      for (const p of [...byId.values()].map((f) => f.properties)) {
        if (!p.k) continue;
        if (!this.lightsOf.has(p.k)) this.lightsOf.set(p.k, []);
        this.lightsOf.get(p.k).push(p.i);
      }
    }
    if (this.layers.lights && this.cabinets) this.follow([...this.cabinets.keys()]);
  }

  // the lights of these cabinets are drawn again (their cabinet's state changed)
  follow(cabinets) {
    const lights = this.layers.lights;
    if (!lights) return;
    for (const cabinet of cabinets) {
      for (const id of this.lightsOf.get(cabinet) || []) {
        const p = lights.get(id)?.properties;
        if (p && p.s === 'unknown') this.states.lights.set(id, p);
      }
    }
  }

  // one change from the live stream; true when it touched a point layer held here
  apply(change) {
    const byId = this.layers[change.layer];
    if (!byId) return false;
    const before = byId.get(change.id);
    const after = change.feature;
    if (after) {
      after.properties.x = this.stale(change.layer, after.properties);
      byId.set(change.id, after);
      if (samePlace(before?.geometry, after.geometry)) this.states[change.layer].set(change.id, after.properties);
      else this.moves[change.layer].set(change.id, after);
    } else if (before) {
      byId.delete(change.id);
      this.moves[change.layer].set(change.id, null);
    }
    if (change.layer === 'cabinets') {
      const short = shortId(change.id);
      if (after) this.cabinets.set(short, after); else this.cabinets.delete(short);
      this.follow([short]);
    }
    return true;
  }

  // silent sensors are found by time, not by a change: look every 30 s
  sweep() {
    for (const [layerId, byId] of Object.entries(this.layers)) {
      for (const f of byId.values()) {
        const x = this.stale(layerId, f.properties);
        if (x === f.properties.x) continue;
        f.properties.x = x;
        this.states[layerId].set(f.properties.i, f.properties);
        if (layerId === 'cabinets') this.follow([shortId(f.properties.i)]);
      }
    }
  }

  // tell the map what changed since the last flush; the layers touched
  flush() {
    const touched = [];
    for (const layerId of Object.keys(this.layers)) {
      const states = this.states[layerId];
      const moves = this.moves[layerId];
      if (!states.size && !moves.size) continue;
      touched.push(layerId);
      const source = sourceId(layerId);
      for (const [id, p] of states) this.map.setFeatureState({ source, id }, { s: this.shown(layerId, p), x: p.x });
      states.clear();
      if (moves.size) {
        const remove = [...moves.keys()];
        const add = [...moves.values()].filter(Boolean);
        this.map.getSource(source)?.updateData({ remove, add });
        for (const f of add) this.map.setFeatureState({ source, id: f.properties.i }, { s: this.shown(layerId, f.properties), x: f.properties.x });
        moves.clear();
        this.versions[layerId] = this.dataVersion(layerId) + 1;
      }
    }
    return touched;
  }
}
