// devlic_http_requests_total is counted in a map and handed to the prom-client
// counter at scrape time (service/http/metrics.ts): every scrape must show the
// exact totals, by method, route and status, and scraping twice must not
// count anything twice.
import { expect, it } from 'vitest';
import { createMetrics } from '../../service/http/metrics.ts';
import { Waiters } from '../../service/http/waiters.ts';
import type { Store } from '../../service/store/store.ts';

const store = { views: { devicesByState: async () => [], devicesByEnforcement: async () => [] } } as unknown as Store;

it('shows each method, route and status with its exact count, scrape after scrape', async () => {
  const m = createMetrics(store, new Waiters());
  for (let i = 0; i < 5; i++) m.countRequest('GET', '/v1/device/entitlement', 200);
  for (let i = 0; i < 3; i++) m.countRequest('GET', '/v1/device/entitlement', 304);
  m.countRequest('POST', '/licenses/assign', 200);
  const line = (text: string, method: string, route: string, status: number) =>
    text.split('\n').find((l) => l.startsWith(`devlic_http_requests_total{method="${method}",route="${route}",status="${status}"}`));
  let text = await m.registry.metrics();
  expect(line(text, 'GET', '/v1/device/entitlement', 200)).toMatch(/ 5$/);
  expect(line(text, 'GET', '/v1/device/entitlement', 304)).toMatch(/ 3$/);
  expect(line(text, 'POST', '/licenses/assign', 200)).toMatch(/ 1$/);
  expect(line(text, 'POST', '/licenses/assign', 400)).toBeUndefined();
  m.countRequest('GET', '/v1/device/entitlement', 200);
  text = await m.registry.metrics();
  expect(line(text, 'GET', '/v1/device/entitlement', 200)).toMatch(/ 6$/);
  expect(line(text, 'GET', '/v1/device/entitlement', 304)).toMatch(/ 3$/);
});
