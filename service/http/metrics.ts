// Prometheus metrics for /metrics: request counts and latency by route,
// long-polls waiting, and devices by licence state and last reported mode.
// With several workers on a host (cluster-primary.ts) each worker's registry
// is summed into the host's by prom-client's AggregatorRegistry; a metric
// read from the shared database says `aggregator: 'first'` instead.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.ts';
import type { Waiters } from './waiters.ts';

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  /** Counts one answered request in devlic_http_requests_total (cheap: kept in a map, handed to the counter at scrape). */
  countRequest(method: string, route: string, status: number): void;
  latency: Histogram<'method' | 'route'>;
}

export function createMetrics(store: Store, waiters: Waiters, userWaiters?: Waiters): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'devlic_server_' });
  // Counted here and handed over at scrape time: prom-client's inc() with labels hashes and checks them on
  // every call, which was a tenth of the event loop's time answering a wake of thousands of long-polls.
  const counted = new Map<string, { labels: { method: string; route: string; status: string }; n: number }>();
  const requests = new Counter({
    name: 'devlic_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const c of counted.values()) this.inc(c.labels, c.n);
    },
  });
  const countRequest = (method: string, route: string, status: number) => {
    const key = `${method}\n${status}\n${route}`;
    const c = counted.get(key);
    if (c) c.n++;
    else counted.set(key, { labels: { method, route, status: String(status) }, n: 1 });
  };
  const latency = new Histogram({
    name: 'devlic_http_request_duration_seconds', help: 'Time to answer, long-polls excluded', labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  new Gauge({
    name: 'devlic_longpolls_waiting', help: 'Agent long-polls currently held open', registers: [registry],
    collect() { this.set(waiters.count); },
  });
  if (userWaiters) {
    new Gauge({
      name: 'devlic_user_longpolls_waiting', help: 'Agent long-polls for a signed-in person\'s user licence currently held open', registers: [registry],
      collect() { this.set(userWaiters.count); },
    });
  }
  new Counter({
    name: 'devlic_longpolls_not_held_total', labelNames: ['reason'] as const, registers: [registry],
    help: 'Long-polls answered at once: "full" (maxLongPolls reached) or "replaced" (a newer wait of the same device took its place)',
    collect() {
      this.reset();
      this.inc({ reason: 'full' }, waiters.refused);
      this.inc({ reason: 'replaced' }, waiters.replaced);
    },
  });
  new Gauge({
    name: 'devlic_devices', help: 'Enrolled devices by licence status, reason and last reported mode',
    labelNames: ['status', 'reason', 'mode'] as const, registers: [registry],
    // Read from the shared database: every worker of a host sees the same counts, so the host's figure is one of them, not their sum.
    aggregator: 'first',
    async collect() {
      const rows = await store.views.devicesByState();
      this.reset();
      for (const r of rows) this.set({ status: r.status, reason: r.reason, mode: r.mode }, r.n);
    },
  });
  new Gauge({
    name: 'devlic_devices_enforcement',
    help: "Enrolled devices by whether their last report said every enforcer holds the mode: ok, failing, or unknown (no report yet, or an agent too old to say)",
    labelNames: ['state'] as const, registers: [registry], aggregator: 'first',
    async collect() {
      const rows = await store.views.devicesByEnforcement();
      this.reset();
      // Every state present, 0 included: an alert on failing > 0 needs the series to exist.
      for (const state of ['ok', 'failing', 'unknown']) this.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
    },
  });
  return { registry, requests, countRequest, latency };
}
