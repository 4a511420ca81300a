// Server-sent events from /api/v1/live: changes of the subscribed types (coalesced by the
// server every 250 ms) and the alarms. EventSource reconnects by itself; the badge shows the
// link state.
import { t } from './i18n.js';

export class Live {
  constructor(badge, { onHello, onChanges, onAlarms, onReload }) {
    this.badge = badge;
    this.handlers = { onHello, onChanges, onAlarms, onReload };
    this.connected = false;
    this.source = null;
  }

  start(types) {
    const url = `/api/v1/live?types=${encodeURIComponent(types.join(','))}`;
    this.source = new EventSource(url);
    const on = (name, fn) => this.source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    on('hello', (body) => {
      this.connected = true;
      this.status();
      this.handlers.onHello(body);
    });
    on('changes', (body) => this.handlers.onChanges(body.changes));
    on('alarms', (body) => this.handlers.onAlarms(body));
    on('reload', () => this.handlers.onReload());
    this.source.onerror = () => { this.connected = false; this.status(); };
  }

  status() {
    this.badge.textContent = this.connected ? `● ${t('live')}` : t('offline');
    this.badge.classList.toggle('up', this.connected);
  }
}
