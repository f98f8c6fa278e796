// Pure logic of the connection limits and timeouts (service/http/connection-limits.ts)
// and the config rule that keeps long-polls below the connection limit.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESERVED_FILES, effectiveLimits, longPollSocketTimeoutMs, parseOpenFileLimit, serverTimeouts } from '../../service/http/connection-limits.ts';
import { SERVER_DEFAULTS, loadServerConfig } from '../../service/config.ts';
import { tempDir } from '../helpers/processes.ts';

describe('effectiveLimits', () => {
  it('keeps the configured limits when the open-file limit allows them, or is unknown', () => {
    expect(effectiveLimits({ maxConnections: 1000, maxLongPolls: 900 }, 1000 + RESERVED_FILES)).toEqual({ maxConnections: 1000, maxLongPolls: 900, loweredFrom: null });
    expect(effectiveLimits({ maxConnections: 1000, maxLongPolls: 900 }, null).loweredFrom).toBeNull();
  });

  it('lowers both to fit, keeping the long-polls share and headroom, for every open-file limit', () => {
    for (let files = 0; files <= 25_000; files += 7) {
      const l = effectiveLimits(SERVER_DEFAULTS, files);
      expect(l.maxConnections).toBeLessThanOrEqual(Math.max(2, files - RESERVED_FILES));
      expect(l.maxLongPolls).toBeGreaterThanOrEqual(1);
      expect(l.maxLongPolls).toBeLessThan(l.maxConnections);
      if (l.loweredFrom) expect(l.maxLongPolls).toBe(Math.max(1, Math.min(l.maxConnections - 1, Math.floor(l.maxConnections * 0.95))));
    }
    expect(effectiveLimits(SERVER_DEFAULTS, 1024)).toMatchObject({ maxConnections: 960, maxLongPolls: 912, loweredFrom: { openFiles: 1024 } });
  });
});

describe('parseOpenFileLimit', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units     \nMax processes             63704                63704                processes \nMax open files            1024                 524288               files     \n';
    expect(parseOpenFileLimit(text)).toBe(1024);
    expect(parseOpenFileLimit(text.replace('1024 ', 'unlimited'))).toBeNull();
    expect(parseOpenFileLimit('')).toBeNull();
  });
});

describe('timeouts', () => {
  it('defaults: a trickled request is cut within 33 s, idle sockets after 30 s', () => {
    const t = serverTimeouts(SERVER_DEFAULTS);
    expect(t).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 30_000, checkIntervalMs: 3_000, idleTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000 });
    expect(t.requestTimeoutMs + t.checkIntervalMs).toBeLessThanOrEqual(33_000);
  });

  it('the check interval stays between 250 ms and 5 s; headers never get longer than the request', () => {
    for (const s of [1, 2, 10, 30, 60, 600]) {
      const t = serverTimeouts({ requestTimeoutSeconds: s, idleTimeoutSeconds: 30, keepAliveTimeoutSeconds: 30 });
      expect(t.checkIntervalMs).toBeGreaterThanOrEqual(250);
      expect(t.checkIntervalMs).toBeLessThanOrEqual(5_000);
      expect(t.headersTimeoutMs).toBeLessThanOrEqual(t.requestTimeoutMs);
    }
  });

  it('a held long-poll outlives its wait by the idle timeout', () => {
    expect(longPollSocketTimeoutMs(300_000, 30_000)).toBe(330_000);
  });
});

describe('config', () => {
  it('maxLongPolls must stay below maxConnections', () => {
    const f = join(tempDir('limits'), 'server.json');
    writeFileSync(f, JSON.stringify({ maxConnections: 100, maxLongPolls: 100 }));
    expect(() => loadServerConfig(f, {})).toThrow(/maxLongPolls \(100\) must be below maxConnections \(100\)/);
    writeFileSync(f, JSON.stringify({ maxConnections: 100, maxLongPolls: 99, trustProxy: ['10.0.0.0/8', '::1'] }));
    expect(loadServerConfig(f, {}).maxLongPolls).toBe(99);
    writeFileSync(f, JSON.stringify({ trustProxy: ['proxy.example.org'] }));
    expect(() => loadServerConfig(f, {})).toThrow(/trustProxy/);
  });
});
