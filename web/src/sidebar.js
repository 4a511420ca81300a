// The layer panel: toggles grouped by service, each live layer with its legend.
import { t } from './i18n.js';
import { COLOURS, LEGEND } from './map.js';

const ORDER = ['parking', 'lighting', 'waste', 'traffic', 'environment', 'industry', 'buildings', 'base'];

export function renderSidebar(root, state, toggle) {
  const groups = new Map(ORDER.map((s) => [s, []]));
  for (const spec of state.config.layers) groups.get(spec.service)?.push(spec);
  const html = [`<h2>${t('layers')}</h2>`];
  for (const [service, specs] of groups) {
    if (!specs.length) continue;
    html.push(`<fieldset><legend>${t(`svc.${service}`)}</legend>`);
    for (const spec of specs) {
      const n = state.points[spec.id]?.size;
      html.push(`<label class="layer"><input type="checkbox" data-layer="${spec.id}"
        ${state.visible[spec.id] ? 'checked' : ''}> ${t(`layer.${spec.id}`)}
        ${n != null ? `<span class="muted">${n.toLocaleString()}</span>` : ''}</label>`);
      if (LEGEND[spec.id]) {
        html.push(`<ul class="legend">${LEGEND[spec.id].map((s) => `<li><i style="background:${COLOURS[s]}"
          ></i>${t(`state.${s}`)}</li>`).join('')}</ul>`);
      }
    }
    html.push('</fieldset>');
  }
  root.innerHTML = html.join('');
  for (const box of root.querySelectorAll('[data-layer]')) {
    box.onchange = () => toggle(box.dataset.layer, box.checked);
  }
}
