// /healthz's database check (service/http/health.ts): one probe per interval
// however many checks arrive, a failure reported without the driver's words,
// a hung probe reported within the timeout and never piled up.
import { describe, expect, it } from 'vitest';
import { createHealthCheck } from '../../service/http/health.ts';

describe('health check', () => {
  it('asks the database at most once per interval, sharing one probe among concurrent checks', async () => {
    let t = 0;
    let probes = 0;
    const check = createHealthCheck({ probe: async () => { probes++; }, intervalMs: 1000, now: () => t });
    const answers = await Promise.all(Array.from({ length: 500 }, () => check()));
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(probes).toBe(1);
    t = 999;
    await check();
    expect(probes).toBe(1);
    t = 1000;
    await check();
    expect(probes).toBe(2);
  });

  it('answers not ok with the error code only (no host, user or password), and ok again once the database answers', async () => {
    let t = 0;
    let down = true;
    const check = createHealthCheck({
      probe: async () => {
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432 user=devlic password=hunter2'), { code: 'ECONNREFUSED' });
      },
      now: () => t,
    });
    const bad = await check();
    expect(bad).toEqual({ ok: false, reason: 'database unreachable (ECONNREFUSED)' });
    expect(JSON.stringify(bad)).not.toMatch(/hunter2|10\.1\.2\.3|devlic/);
    down = false;
    expect((await check()).ok).toBe(false); // cached within the interval
    t += 1000;
    expect(await check()).toEqual({ ok: true });
  });

  it('reports a hung database within the timeout and does not start a second probe while the first still hangs', async () => {
    let t = 0;
    let probes = 0;
    let release!: () => void;
    const check = createHealthCheck({
      probe: () => (++probes === 1 ? new Promise<void>((r) => { release = r; }) : Promise.resolve()),
      timeoutMs: 50, now: () => t,
    });
    const started = Date.now();
    expect(await check()).toEqual({ ok: false, reason: 'database did not answer within 50 ms' });
    expect(Date.now() - started).toBeLessThan(1000);
    t += 1000;
    expect((await check()).ok).toBe(false);
    expect(probes).toBe(1);
    release();
    await new Promise((r) => setImmediate(r));
    t += 1000;
    expect(await check()).toEqual({ ok: true });
    expect(probes).toBe(2);
  });
});
