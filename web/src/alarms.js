// The alarm panel: the active alarms the server derives from the twin's live state (pushed by
// the live stream), most severe first, then newest. A click flies to the entity and opens its
// detail; the chips filter by severity; the header button counts them. Rows are kept by alarm
// id and only the changed ones are rewritten, so a busy stream costs little layout.
import { t, getLang, lasting, number } from './i18n.js';

const SEVERITIES = ['critical', 'major', 'minor'];
const RANK = { critical: 0, major: 1, minor: 2 };
const SHOWN = 150; // rows drawn at most; the counts tell the rest
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const order = (a, b) => RANK[a.severity] - RANK[b.severity] || b.since - a.since || (a.id < b.id ? -1 : 1);

export class AlarmPanel {
  constructor(root, badge, { nowS, onPick }) {
    this.root = root;
    this.badge = badge;
    this.nowS = nowS;
    this.alarms = new Map();
    this.filter = null; // a severity, or null for all
    this.loaded = false;
    this.dirty = false; // changed since drawn: main.js's clock redraws it
    this.rows = new Map(); // alarm id -> {li, html}
    root.innerHTML = '<header></header><ul class="alarm-list"></ul><div class="foot"></div>';
    [this.head, this.list, this.foot] = root.children;
    this.head.addEventListener('click', (e) => {
      const chip = e.target.closest('[data-sev]');
      if (!chip) return;
      this.filter = this.filter === chip.dataset.sev ? null : chip.dataset.sev;
      this.render();
    });
    const pick = (e) => {
      const li = e.target.closest('li.alarm');
      if (li && this.alarms.has(li.dataset.id)) onPick(this.alarms.get(li.dataset.id));
    };
    this.list.addEventListener('click', pick);
    this.list.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(e); });
  }

  replace(all) {
    this.alarms = new Map(all.map((a) => [a.id, a]));
    this.loaded = true;
    this.render();
  }

  update(raised, cleared) {
    for (const a of raised) this.alarms.set(a.id, a);
    for (const id of cleared) this.alarms.delete(id);
    this.dirty = true;
  }

  counts() {
    const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
    for (const a of this.alarms.values()) out[a.severity] += 1;
    return out;
  }

  render() {
    this.dirty = false;
    const counts = this.counts();
    const total = this.alarms.size;
    const worst = SEVERITIES.find((s) => counts[s]) || 'none';
    setHtml(this.badge, `${t('alarms')} <b class="count sev-${worst}">${number(total)}</b>`);
    this.badge.title = SEVERITIES.map((s) => `${t(`sev.${s}`)} : ${counts[s]}`).join('\n');
    if (this.root.hidden) return;
    if (!this.loaded) { setHtml(this.head, `<h2>${t('alarms')}</h2><p class="muted">${t('loading')}</p>`); return; }
    const chips = SEVERITIES.map((s) => `<button class="chip sev-${s} ${this.filter === s ? 'on' : ''}" data-sev="${s}"
      ${counts[s] ? '' : 'disabled'}>${t(`sev.${s}`)} <b>${number(counts[s])}</b></button>`).join('');
    setHtml(this.head, `<h2>${t('alarms')} <span class="total">${number(total)}</span></h2><div class="chips">${chips}</div>`);
    const list = [...this.alarms.values()].filter((a) => !this.filter || a.severity === this.filter).sort(order);
    this.rowsFor(list.slice(0, SHOWN));
    setHtml(this.foot, total ? (list.length > SHOWN ? `<p class="muted more">${t('alarms.more', { n: number(list.length - SHOWN) })}</p>` : '')
      : `<div class="calm"><p class="ok">✓ ${t('alarms.none')}</p><p class="muted">${t('alarms.noneHint')}</p></div>`);
  }

  // the rows of these alarms, in this order, reusing the ones already drawn
  rowsFor(alarms) {
    const lang = getLang();
    const now = this.nowS();
    const keep = new Set();
    let next = this.list.firstElementChild;
    for (const a of alarms) {
      keep.add(a.id);
      let row = this.rows.get(a.id);
      if (!row) {
        const li = document.createElement('li');
        li.dataset.id = a.id;
        li.tabIndex = 0;
        row = { li, html: '' };
        this.rows.set(a.id, row);
      }
      const cls = `alarm sev-${a.severity}`;
      if (row.li.className !== cls) row.li.className = cls;
      const what = esc(a.message[lang] || a.message.fr);
      const where = `<strong>${esc(a.name || a.entity.split(':').pop())}</strong>${a.commune ? ` · ${esc(a.commune)}` : ''}`;
      const html = `<div class="what" title="${what}">${what}</div><div class="age">${lasting(a.since, now)}</div>
        <div class="where">${where}</div><div class="sev">${t(`sev.${a.severity}`)}</div>`;
      if (html !== row.html) { row.li.innerHTML = html; row.html = html; }
      if (row.li === next) next = next.nextElementSibling;
      else this.list.insertBefore(row.li, next);
    }
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) { row.li.remove(); this.rows.delete(id); }
    }
  }
}

function setHtml(el, html) {
  if (el.shownHtml === html) return;
  el.innerHTML = html;
  el.shownHtml = html;
}
