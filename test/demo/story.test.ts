// `npm run demo` plays the seed's story with real processes and exits 0 only
// when every step held; here with a smaller fleet to keep the suite short.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE, ROOT } from '../helpers/processes.ts';

describe('npm run demo', () => {
  it('plays assign, unassign and offline with real agents, and says every step held', () => {
    const r = spawnSync(NODE, [join(ROOT, 'demo/story.ts')], { env: { ...process.env, DEVLIC_DEMO_DEVICES: '4' }, encoding: 'utf8', timeout: 150_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok {2}assigned "EA 2026" to "Shared laptops": all 4 devices full/);
    expect(r.stdout).toMatch(/ok {2}unassigned: all 4 devices read-only/);
    expect(r.stdout).toMatch(/4\/4 devices still full on their cached entitlement/);
    expect(r.stdout).toContain('Every step held.');
    expect(r.stdout).not.toMatch(/ NO /);
  }, 180_000);
});
