// The layer panel: toggles grouped by service, each live layer with its legend; the basemap
// choice when the server offers an external one.
import { t, number } from './i18n.js';
import { COLOURS, LEGEND } from './map.js';

const ORDER = ['parking', 'lighting', 'waste', 'traffic', 'environment', 'industry', 'buildings', 'base'];

export function renderSidebar(root, { config, visible, count, external }, { toggle, setExternal }) {
  const groups = new Map(ORDER.map((s) => [s, []]));
  for (const spec of config.layers) groups.get(spec.service)?.push(spec);
  const html = [`<h2>${t('layers')}</h2>`];
  for (const [service, specs] of groups) {
    if (!specs.length) continue;
    html.push(`<fieldset><legend>${t(`svc.${service}`)}</legend>`);
    if (service === 'base' && config.basemap) {
      html.push(`<div class="basemap" role="radiogroup">
        <label><input type="radio" name="basemap" value="twin" ${external ? '' : 'checked'}> ${t('basemap.twin')}</label>
        <label><input type="radio" name="basemap" value="external" ${external ? 'checked' : ''}>
          ${t('basemap.external', { name: config.basemap.name })}</label></div>`);
    }
    for (const spec of specs) {
      const n = count(spec.id);
      html.push(`<label class="layer"><input type="checkbox" data-layer="${spec.id}"
        ${visible[spec.id] ? 'checked' : ''}> ${t(`layer.${spec.id}`)}
        ${n != null ? `<span class="muted" title="${t('layer.count', { n: number(n) })}">${number(n)}</span>` : ''}</label>`);
      if (LEGEND[spec.id] && visible[spec.id]) {
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
  for (const radio of root.querySelectorAll('input[name=basemap]')) {
    radio.onchange = () => setExternal(radio.value === 'external');
  }
}
