// The entity detail panel: attributes with units, provenance, freshness, history charts.
import { t, ago, lasting, UNITS, number, typeName } from './i18n.js';
import { lineChart } from './chart.js';

const RANGES = { '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const SKIP = new Set(['id', 'type', 'createdAt', 'modifiedAt', 'location', 'source', '@context']);
const LOCATE = `<svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true" fill="none"
  stroke="currentColor" stroke-width="1.8"><circle cx="10" cy="10" r="5.5"/><path d="M10 1v4M10 15v4M1 10h4M15 10h4"/></svg>`;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class Detail {
  constructor(root, specsByType, { onClose, onLocate, onShown }) {
    this.root = root;
    this.specsByType = specsByType;
    this.onClose = onClose;
    this.onLocate = onLocate;
    this.onShown = onShown;
    this.range = '24h';
    this.entity = null;
    this.token = 0;
  }

  // quiet: a refresh of the entity on screen, without the loading placeholder
  async open(id, quiet = false) {
    const token = ++this.token;
    this.root.hidden = false;
    if (!quiet) this.root.innerHTML = `<p class="muted">${t('loading')}</p>`;
    const res = await fetch(`/ngsi-ld/v1/entities/${encodeURIComponent(id)}?options=sysAttrs`,
      { headers: { Accept: 'application/json' } });
    if (token !== this.token) return;
    if (!res.ok) { this.root.innerHTML = `<p>${esc(id)} : ${res.status}</p>`; return; }
    this.entity = await res.json();
    this.render();
    this.onShown?.(this.entity);
  }

  close() {
    this.token += 1;
    this.entity = null;
    this.root.hidden = true;
    this.root.innerHTML = '';
    this.onClose?.();
  }

  // a live change of the open entity: reload it (cheap: one entity)
  changed(id) { if (this.entity && this.entity.id === id) this.open(id, true); }

  render() {
    const e = this.entity;
    if (!e) return;
    const spec = this.specsByType[e.type];
    const name = e.name?.value;
    const rows = [];
    const numeric = [];
    for (const [key, attr] of Object.entries(e)) {
      if (SKIP.has(key) || !attr || typeof attr !== 'object') continue;
      const a = Array.isArray(attr) ? attr[0] : attr;
      let value = a.value ?? a.object ?? '';
      if (typeof value === 'number') {
        numeric.push(key);
        value = number(value, 2);
      } else if (typeof value === 'object') value = JSON.stringify(value);
      const unit = a.unitCode ? (UNITS[a.unitCode] ?? a.unitCode) : '';
      const when = a.observedAt || a.modifiedAt;
      const whenText = when ? `<span class="muted" title="${esc(when)}">${ago(Date.parse(when) / 1000)}</span>` : '';
      const shown = a.object
        ? `<a href="#" data-goto="${esc(a.object)}">${esc(String(a.object).split(':').slice(-1)[0])}</a>`
        : esc(value);
      rows.push(`<tr><th>${esc(key)}</th><td>${shown} ${esc(unit)}</td><td class="when">${whenText}</td></tr>`);
    }
    // charts: the numbers a sensor reports (a static attribute has nothing to draw)
    if (spec?.live?.length) numeric.splice(0, numeric.length, ...numeric.filter((k) => spec.live.includes(k)));
    this.numeric = numeric;
    this.root.innerHTML = `
      <header><div><div class="muted" title="${esc(e.type)}">${esc(typeName(e.type))}</div>
        <h2>${esc(name || e.id.split(':').pop())}</h2><div class="muted id">${esc(e.id)}</div></div>
        <div class="tools">${e.location ? `<button class="locate" title="${t('locate')}" aria-label="${t('locate')}">${LOCATE}</button>` : ''}
        <button class="close" title="${t('close')}" aria-label="${t('close')}">×</button></div></header>
      <section><h3>${t('detail.freshness')}</h3>${this.freshness(spec)}</section>
      <section><h3>${t('detail.attributes')}</h3><table class="attrs">${rows.join('')}</table></section>
      ${numeric.length ? `<section class="history"><h3>${t('detail.history')}</h3>
        <div class="ranges" role="group">${Object.keys(RANGES).map((r) =>
          `<button data-range="${r}" class="${r === this.range ? 'on' : ''}">${t(`range.${r}`)}</button>`).join('')}
        </div><div class="charts"><p class="muted">${t('loading')}</p></div></section>` : ''}
      <section><h3>${t('detail.provenance')}</h3>${this.provenance(e.source)}</section>`;
    this.root.querySelector('.close').onclick = () => this.close();
    const locate = this.root.querySelector('.locate');
    if (locate) locate.onclick = () => this.onLocate(e.location.value);
    for (const b of this.root.querySelectorAll('[data-range]')) {
      b.onclick = () => { this.range = b.dataset.range; this.render(); };
    }
    for (const a of this.root.querySelectorAll('[data-goto]')) {
      a.onclick = (ev) => { ev.preventDefault(); this.open(a.dataset.goto); };
    }
    if (numeric.length) this.history(numeric);
  }

  freshness(spec) {
    const e = this.entity;
    if (!spec || !spec.live) return `<p class="badge static">${t('detail.static')}</p>`;
    const times = spec.live.map((n) => e[n]).filter(Boolean)
      .map((a) => Date.parse(a.observedAt || a.modifiedAt) / 1000).filter((x) => !Number.isNaN(x));
    if (!times.length) return `<p class="badge unknown">${t('detail.noData')}</p>`;
    const last = Math.max(...times);
    const stale = Date.now() / 1000 - last > spec.staleAfter;
    const text = stale ? `${t('detail.silent')} ${lasting(last)}` : `${t('detail.fresh')} — ${ago(last)}`;
    return `<p class="badge ${stale ? 'stale' : 'fresh'}">${esc(text)}</p>`;
  }

  provenance(source) {
    if (!source) return '<p class="muted">—</p>';
    const v = (k) => source[k]?.value;
    const rows = [['detail.source', source.value], ['detail.dataset', v('sourceDataset')],
      ['detail.date', v('sourceDate')], ['detail.license', v('license')]];
    return `<table class="attrs">${rows.filter((r) => r[1]).map(([k, val]) =>
      `<tr><th>${t(k)}</th><td>${esc(val)}</td></tr>`).join('')}</table>`;
  }

  async history(attrs) {
    const token = this.token;
    const to = Date.now();
    const from = to - RANGES[this.range];
    const q = new URLSearchParams({
      attrs: attrs.join(','), timerel: 'after', timeAt: new Date(from).toISOString(),
      aggrMethods: 'avg', aggrPeriodDuration: 'PT1H', options: 'aggregatedValues',
    });
    const id = encodeURIComponent(this.entity.id);
    const res = await fetch(`/ngsi-ld/v1/temporal/entities/${id}?${q}`, { headers: { Accept: 'application/json' } });
    if (token !== this.token) return;
    const box = this.root.querySelector('.charts');
    if (!box) return;
    if (!res.ok) { box.innerHTML = `<p class="muted">${res.status}</p>`; return; }
    const body = await res.json();
    const parts = [];
    for (const attr of attrs) {
      const series = body[attr];
      const avg = (Array.isArray(series) ? series[0] : series)?.avg || [];
      const points = avg.map(([v, start]) => [Date.parse(start), v]).filter((p) => p[0] >= from - 3600e3)
        .sort((a, b) => a[0] - b[0]);
      const unitCode = this.entity[attr]?.unitCode;
      parts.push(`<figure data-attr="${esc(attr)}"><figcaption>${esc(attr)}</figcaption>${points.length
        ? lineChart(points, { unit: UNITS[unitCode] ?? unitCode ?? '', from, to })
        : `<p class="muted">${t('detail.noHistory')}</p>`}</figure>`);
    }
    box.innerHTML = parts.join('');
  }
}
