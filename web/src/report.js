// The data-completeness view, from the territory report (GET /api/v1/twin/report).
import { t, number, typeName } from './i18n.js';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function openReport(root) {
  root.hidden = false;
  root.innerHTML = `<div class="sheet"><header><h2>${t('report.title')}</h2>
    <button class="close" aria-label="${t('close')}">×</button></header>
    <p class="muted">${t('report.loading')}</p></div>`;
  const close = () => { root.hidden = true; root.innerHTML = ''; };
  root.querySelector('.close').onclick = close;
  root.onclick = (e) => { if (e.target === root) close(); };
  const res = await fetch('/api/v1/twin/report?limit=20');
  if (root.hidden) return;
  if (!res.ok) { root.querySelector('p').textContent = `${res.status}`; return; }
  const r = await res.json();
  const rows = r.types.map((ty) => {
    const shares = ty.attributes.map((a) => a.share);
    const mean = shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 1;
    const gaps = ty.attributes.filter((a) => a.share < 1)
      .map((a) => `${esc(a.attribute)} ${number(a.share * 100, 1)} %`).join(', ');
    const cell = (n) => `<td class="n ${n ? 'bad' : ''}">${number(n)}</td>`;
    return `<tr><th title="${esc(ty.type)}">${esc(typeName(ty.type))}</th><td class="n">${number(ty.count)}</td>
      <td><div class="bar"><span style="width:${(mean * 100).toFixed(1)}%"></span></div>
      <small>${number(mean * 100, 1)} %${gaps ? ` — ${gaps}` : ''}</small></td>
      ${cell(ty.without_geometry)}${cell(ty.outside_territory)}${cell(ty.duplicates)}${cell(ty.dangling)}</tr>`;
  }).join('');
  root.querySelector('.sheet').innerHTML = `<header><h2>${t('report.title')} — ${number(r.entities)}</h2>
    <button class="close" aria-label="${t('close')}">×</button></header>
    <table class="report"><thead><tr><th>${t('report.type')}</th><th>${t('report.count')}</th>
    <th>${t('report.filled')}</th><th>${t('report.noGeom')}</th><th>${t('report.outside')}</th>
    <th>${t('report.duplicates')}</th><th>${t('report.dangling')}</th></tr></thead><tbody>${rows}</tbody></table>`;
  root.querySelector('.close').onclick = close;
}
