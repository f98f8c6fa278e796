// Live updates: reads GET /v1/admin/events (server-sent events) with fetch()
// and a streamed body rather than EventSource, because EventSource cannot send
// the Authorization header and the token must not go into a URL (see
// service/http/admin-events.ts). Reconnects with backoff; after a reconnect
// the page is told to re-read everything, as events may have been missed.
import { BASE } from './api.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{ token: string, onEvent: (name: string, data: any) => void, onState: (s: 'live'|'reconnecting'|'unauthorized') => void }} o
 */
export function connectLive({ token, onEvent, onState }) {
  let stopped = false;
  let ctrl = null;
  let delay = 1000;
  let connectedBefore = false;

  function dispatch(block) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    try { onEvent(name, JSON.parse(data.join('\n'))); } catch { /* a malformed event is dropped, not fatal */ }
  }

  async function run() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const r = await fetch(`${BASE}/events`, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ctrl.signal, cache: 'no-store',
        });
        if (r.status === 401) { onState('unauthorized'); return; }
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        onState('live');
        delay = 1000;
        if (connectedBefore) {
          onEvent('devices', { reported: [], changed: [], all: true });
          onEvent('users', { groups: [], people: [], all: true });
        }
        connectedBefore = true;
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = (buf + value).replace(/\r\n?/g, '\n');
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            dispatch(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch {
        // Network error or abort: fall through to the retry (or stop).
      }
      if (stopped) return;
      onState('reconnecting');
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
  run();
  return { stop() { stopped = true; ctrl?.abort(); } };
}
