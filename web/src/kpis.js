// KPI tiles per service, from /api/v1/kpis; redrawn only when what they show changed.
import { t, ago, number } from './i18n.js';
import { COLOURS } from './map.js';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderKpis(root, k, nowS, openEntity) {
  if (!k) { root.innerHTML = `<h2>${t('kpis')}</h2><p class="muted">${t('loading')}</p>`; root.shownHtml = null; return; }
  const L = k.lighting;
  const W = k.waste;
  const F = k.freshness;
  const stations = k.parking.stations.map((s) => `<li data-id="${esc(s.id)}" class="kpi-station">
      <i style="background:${COLOURS[s.state] || COLOURS.unknown}"></i>
      <span>${esc((s.name || s.id).replace(/^Parking de la gare de /, ''))}</span>
      <b class="free">${s.free != null ? number(s.free) : '–'}</b><small>/ ${number(s.total || 0)}</small></li>`).join('');
  const centres = k.recycling.map((r) => `<li data-id="${esc(r.id)}">
      <i style="background:${COLOURS[r.state] || COLOURS.unknown}"></i>
      <span>${esc((r.name || r.id).replace(/^Déchetterie de /, ''))}</span>
      <b>${t(`state.${r.state}`)}</b></li>`).join('');
  const html = `<h2>${t('kpis')}</h2>
    <div class="tiles">
    <article class="tile" id="kpi-parking"><h3>${t('kpi.parking')}</h3>
      <ul class="rows">${stations}</ul><p class="muted">${t('kpi.free')}</p></article>
    <article class="tile" id="kpi-lighting"><h3>${t('kpi.lights')}</h3>
      <p class="big"><b>${number(L.on + L.dim)}</b> / ${number(L.lights)} <small>${t('kpi.lightsOn')}</small></p>
      <p>${t('kpi.power')} <b>${number(L.powerKw, 1)} kW</b>${L.fault ? ` · <span class="bad">${number(L.fault)} ${t('state.fault').toLowerCase()}</span>` : ''}</p></article>
    <article class="tile" id="kpi-waste"><h3>${t('kpi.waste')}</h3>
      <p class="big"><b class="${W.above80 ? 'bad' : ''}">${number(W.above80)}</b> <small>${t('kpi.above80')}</small></p>
      <p class="muted">${number(W.measured)} / ${number(W.containers)} ${t('kpi.measured')}</p></article>
    <article class="tile" id="kpi-recycling"><h3>${t('kpi.recycling')}</h3><ul class="rows">${centres}</ul></article>
    <article class="tile" id="kpi-fresh"><h3>${t('kpi.lastData')}</h3>
      <p class="big">${F.lastSeen ? ago(F.lastSeen, nowS) : t('kpi.never')}</p>
      <p class="${F.stale ? 'bad' : 'muted'}">${number(F.stale)} ${t('kpi.stale')}</p></article>
    </div>`;
  if (html === root.shownHtml) return; // unchanged: no layout, no paint
  root.innerHTML = html;
  root.shownHtml = html;
  for (const li of root.querySelectorAll('li[data-id]')) li.onclick = () => openEntity(li.dataset.id);
}
