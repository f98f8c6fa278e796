// package.json's `engines` must be true: every Node version it admits must be
// admitted by every installed package's own `engines.node`. Checked at the
// lowest version of each range we admit (a package that accepts those accepts
// the rest of the range for every form in use here: >=, ^ and ||).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const NM = join(ROOT, 'node_modules');

type V = [number, number, number];

function parseVersion(s: string): V {
  const parts = s.replace(/\.x$/, '').split('.');
  if (parts.some((p) => !/^\d+$/.test(p)) || parts.length > 3) throw new Error(`unsupported version '${s}'`);
  const n = parts.map(Number);
  return [n[0]!, n[1] ?? 0, n[2] ?? 0];
}

function cmp(a: V, b: V): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The subset of npm's range syntax the installed packages use: `>=X`, `^X`, joined by `||`. */
function admits(range: string, v: V): boolean {
  return range.split('||').some((alt) => {
    const a = alt.trim().replace(/^(>=|\^)\s+/, '$1');
    if (a.startsWith('>=')) return cmp(v, parseVersion(a.slice(2))) >= 0;
    if (a.startsWith('^')) {
      const lo = parseVersion(a.slice(1));
      return cmp(v, lo) >= 0 && v[0] === lo[0];
    }
    throw new Error(`unsupported range '${alt}' in '${range}'`);
  });
}

/** The lowest version of each `^`/`>=` alternative of our own range. */
function lowestAdmitted(range: string): V[] {
  return range.split('||').map((alt) => parseVersion(alt.trim().replace(/^(>=|\^)\s*/, '')));
}

function installedEngines(): Array<{ name: string; node: string }> {
  const dirs = readdirSync(NM).flatMap((d) => (d.startsWith('@') ? readdirSync(join(NM, d)).map((s) => `${d}/${s}`) : [d]));
  return dirs.flatMap((d) => {
    try {
      const pj = JSON.parse(readFileSync(join(NM, d, 'package.json'), 'utf8')) as { name?: string; engines?: { node?: unknown } };
      return typeof pj.engines?.node === 'string' ? [{ name: pj.name ?? d, node: pj.engines.node }] : [];
    } catch {
      return []; // .bin and other folders without a package.json
    }
  });
}

describe('engines', () => {
  const ours = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

  it('reads the range forms right', () => {
    expect(admits('>=22.19.0', [22, 19, 0])).toBe(true);
    expect(admits('>=22.19.0', [22, 18, 9])).toBe(false);
    expect(admits('^22.12.0 || ^24.0.0 || >=26.0.0', [25, 0, 0])).toBe(false);
    expect(admits('^22.12.0 || ^24.0.0 || >=26.0.0', [24, 1, 0])).toBe(true);
    expect(admits('>= 10.x', [10, 0, 0])).toBe(true);
    expect(() => admits('~1.2', [1, 2, 0])).toThrow(/unsupported/);
  });

  it('admits no Node version that an installed package refuses (undici, vitest, better-sqlite3 among them)', () => {
    const pkgs = installedEngines();
    expect(pkgs.map((p) => p.name)).toEqual(expect.arrayContaining(['undici', 'vitest', 'better-sqlite3']));
    const lows = lowestAdmitted(ours);
    const refused = pkgs.flatMap((p) => lows.filter((v) => !admits(p.node, v)).map((v) => `${p.name} (${p.node}) refuses ${v.join('.')}`));
    expect(refused).toEqual([]);
    // And the bound is tight: the newest dependency needs exactly our lowest version.
    expect(lows[0]).toEqual([22, 19, 0]);
    expect(admits(pkgs.find((p) => p.name === 'undici')!.node, [22, 18, 0])).toBe(false);
  });
});
