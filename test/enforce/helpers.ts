// Test helpers: temp dirs that are removed afterwards, and fake executables
// (a /bin/sh wrapper that runs a fixture script with this Node) that record
// how the enforcers call them.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/enforce');
const dirs: string[] = [];

/** A fresh temp dir, removed after the current test. */
export function tempDir(prefix = 'devlic-enforce-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes an executable `dir/name` that runs fixtures/enforce/<script> with
 * FAKE_DIR=dir (the enforcers give their tools a minimal environment, so the
 * wrapper carries it).
 */
export function fakeExe(dir: string, name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\nFAKE_DIR=${shQuote(dir)} exec ${shQuote(process.execPath)} ${shQuote(fixture(script))} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The argv lists a fake executable recorded, in order. */
export function calls(dir: string): string[][] {
  const f = join(dir, 'calls.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
}

export function clearCalls(dir: string): void {
  rmSync(join(dir, 'calls.jsonl'), { force: true });
}
