// Server-sent events from /api/v1/live: changes of the subscribed types, coalesced by the
// server every 250 ms. EventSource reconnects by itself; the badge shows the link state.
import { t } from './i18n.js';

export class Live {
  constructor(badge, { onHello, onChanges, onReload }) {
    this.badge = badge;
    this.handlers = { onHello, onChanges, onReload };
    this.connected = false;
    this.source = null;
  }

  start(types) {
    const url = `/api/v1/live?types=${encodeURIComponent(types.join(','))}`;
    this.source = new EventSource(url);
    this.source.addEventListener('hello', (e) => {
      this.connected = true;
      this.status();
      this.handlers.onHello(JSON.parse(e.data).t);
    });
    this.source.addEventListener('changes', (e) => this.handlers.onChanges(JSON.parse(e.data).changes));
    this.source.addEventListener('reload', () => this.handlers.onReload());
    this.source.onerror = () => { this.connected = false; this.status(); };
  }

  status() {
    this.badge.textContent = this.connected ? `● ${t('live')}` : t('offline');
    this.badge.classList.toggle('up', this.connected);
  }
}
