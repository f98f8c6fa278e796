// session-gate.ts: when an expensive sign-in read (PowerShell on Windows,
// systeminformation on macOS) is spared, with a counting full read and a
// mark the test sets: only an unchanged mark within FULL_EVERY_MS spares it,
// and a failed read or mark is never remembered as the answer.
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FULL_EVERY_MS, gatedSource, lastReadStands } from '../../agent/host/session-gate.ts';
import { fileMark } from '../../agent/host/sessions.ts';
import type { SignedIn } from '../../agent/host/utmp.ts';

describe('lastReadStands', () => {
  const last = { mark: 'A', at: 1000, sessions: [] };
  it('stands only for the same mark within FULL_EVERY_MS', () => {
    expect(lastReadStands(last, 'A', 1000)).toBe(true);
    expect(lastReadStands(last, 'A', 1000 + FULL_EVERY_MS - 1)).toBe(true);
    expect(lastReadStands(last, 'A', 1000 + FULL_EVERY_MS)).toBe(false);
    expect(lastReadStands(last, 'B', 1001)).toBe(false);
    expect(lastReadStands(last, null, 1001)).toBe(false);
    expect(lastReadStands(null, 'A', 1001)).toBe(false);
    // The clock went back: the read's age is unknown, so read again.
    expect(lastReadStands(last, 'A', 999)).toBe(false);
    expect(lastReadStands(last, 'A', 2000, 500)).toBe(false);
  });
});

describe('gatedSource', () => {
  const alice: SignedIn = { user: 'alice', line: 'console', host: '', sinceMs: 1 };
  function rig() {
    const st = { mark: 'm1' as string | null, markThrows: false, fullThrows: false, reads: 0, now: 0, list: [alice] };
    const source = gatedSource(async () => {
      st.reads++;
      if (st.fullThrows) throw new Error('read failed');
      return st.list.map((x) => ({ ...x }));
    }, async () => { if (st.markThrows) throw new Error('mark failed'); return st.mark; }, { now: () => st.now });
    return { st, source };
  }

  it('reads in full first, then only when the mark changes or the read is old', async () => {
    const { st, source } = rig();
    expect(await source()).toEqual([alice]);
    st.now += 15_000;
    expect(await source()).toEqual([alice]);
    expect(st.reads).toBe(1);
    st.mark = 'm2';
    st.list = [];
    expect(await source()).toEqual([]);
    expect(st.reads).toBe(2);
    st.now += FULL_EVERY_MS;
    await source();
    expect(st.reads).toBe(3);
  });

  it('reads in full on every poll while no mark can be taken', async () => {
    const { st, source } = rig();
    st.mark = null;
    await source(); await source();
    st.mark = 'm1';
    st.markThrows = true;
    await source();
    expect(st.reads).toBe(3);
  });

  it('never remembers a failed full read, and hands out copies', async () => {
    const { st, source } = rig();
    st.fullThrows = true;
    await expect(source()).rejects.toThrow('read failed');
    st.fullThrows = false;
    const first = await source();
    first[0]!.user = 'mallory';
    expect(await source()).toEqual([alice]);
    expect(st.reads).toBe(2);
  });
});

describe('fileMark (macOS utmpx)', () => {
  it('changes when the file is rewritten, and is null for a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    try {
      const f = join(dir, 'utmpx');
      const mark = fileMark(f);
      expect(await mark()).toBeNull();
      writeFileSync(f, 'a');
      const a = await mark();
      expect(a).not.toBeNull();
      expect(await mark()).toBe(a);
      // Same size, mtime put back (to the millisecond: Node cannot set nanoseconds): ctime moves anyway, as no call can set it.
      const before = statSync(f, { bigint: true });
      // File times come from a coarse kernel clock (a few ms): let it tick so a rewrite gets a new ctime.
      await new Promise((r) => setTimeout(r, 25));
      writeFileSync(f, 'b');
      utimesSync(f, new Date(Number(before.atimeMs)), new Date(Number(before.mtimeMs)));
      expect(statSync(f, { bigint: true }).ctimeNs).not.toBe(before.ctimeNs);
      expect(await mark()).not.toBe(a);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
