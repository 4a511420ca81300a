// The search box: entities by name, commune, type or id (GET /api/v1/ui/search).
import { t, typeName } from './i18n.js';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function initSearch(input, results, onPick) {
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2) { results.hidden = true; return; }
      const res = await fetch(`/api/v1/ui/search?q=${encodeURIComponent(q)}`);
      if (!res.ok || input.value.trim() !== q) return;
      const body = await res.json();
      results.innerHTML = body.results.length ? body.results.map((r, i) => `<li data-i="${i}">
        <strong>${esc(r.name || r.id.split(':').pop())}</strong>
        <span>${esc(typeName(r.type))}${r.commune ? ` · ${esc(r.commune)}` : ''}</span></li>`).join('')
        : `<li class="muted">${t('noResult')}</li>`;
      results.hidden = false;
      for (const li of results.querySelectorAll('[data-i]')) {
        li.onclick = () => {
          results.hidden = true;
          onPick(body.results[Number(li.dataset.i)]);
        };
      }
    }, 200);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') results.querySelector('[data-i]')?.click();
    if (e.key === 'Escape') results.hidden = true;
  });
  document.addEventListener('click', (e) => {
    if (!results.hidden && !e.target.closest('.search')) results.hidden = true;
  });
}
