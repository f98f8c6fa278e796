// The Windows session source up to the process boundary (no Windows here): a
// recording fake powershell.exe gets exactly the fixed, encoded command line,
// its JSON becomes sessions, and a failing PowerShell is an error (the
// session watcher then keeps the sessions it knew) rather than "nobody".
// A recording fake qwinsta.exe shows when PowerShell is spared: only while
// qwinsta's output is unchanged and the last full read is young.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { powershellArgs, windowsSessionsSource } from '../../agent/host/windows-sessions.ts';
import { calls, clearCalls, fakeExe, tempDir } from '../enforce/helpers.ts';

it('runs powershell.exe with the fixed arguments and reads every session it lists', async () => {
  const dir = tempDir();
  const ps = fakeExe(dir, 'powershell.exe', 'fake-printing-tool.mjs');
  writeFileSync(join(dir, 'stdout.txt'), JSON.stringify([
    { user: 'alice', domain: 'CORP', session: 1, since: '2026-12-03T08:00:00.0000000Z' },
    { user: 'bob', domain: 'CORP', session: 2, since: '2026-12-03T08:05:00.0000000Z' },
  ]));
  const sessions = await windowsSessionsSource(ps)();
  expect(sessions.map((s) => `${s.user}/${s.line}`)).toEqual(['CORP\\alice/session 1', 'CORP\\bob/session 2']);
  expect(calls(dir)).toEqual([powershellArgs()]);
});

it('a failing PowerShell is an error that says what failed', async () => {
  const dir = tempDir();
  const ps = fakeExe(dir, 'powershell.exe', 'fake-printing-tool.mjs');
  writeFileSync(join(dir, 'fail'), 'Get-CimInstance : Access denied\n');
  await expect(windowsSessionsSource(ps)()).rejects.toThrow(/listing Windows sessions \(powershell\.exe\) exited with code 1: Get-CimInstance : Access denied/);
  await expect(windowsSessionsSource(join(dir, 'missing.exe'))()).rejects.toThrow(/could not be started/);
});

it('runs PowerShell again only when qwinsta\'s output changed, failed, or the last full read is old', async () => {
  const psDir = tempDir();
  const qDir = join(psDir, 'q');
  mkdirSync(qDir);
  const ps = fakeExe(psDir, 'powershell.exe', 'fake-printing-tool.mjs');
  const q = fakeExe(qDir, 'qwinsta.exe', 'fake-printing-tool.mjs');
  const sessions = (list: { user: string; session: number }[]) => writeFileSync(join(psDir, 'stdout.txt'),
    JSON.stringify(list.map((x) => ({ ...x, domain: 'CORP', since: '2026-12-03T08:00:00.0000000Z' }))));
  const qwinsta = (text: string) => writeFileSync(join(qDir, 'stdout.txt'), text);
  let now = 1_000_000;
  const source = windowsSessionsSource(ps, 30_000, { qwinsta: q, fullEveryMs: 300_000, now: () => now });
  const names = async () => (await source()).map((s) => `${s.user}/${s.line}`);
  const psRuns = () => calls(psDir).length;

  sessions([{ user: 'alice', session: 1 }]);
  qwinsta(' SESSIONNAME  USERNAME  ID  STATE\n>services           0  Disc\n console  alice  1  Active\n');
  expect(await names()).toEqual(['CORP\\alice/session 1']);
  expect(psRuns()).toBe(1);
  expect(calls(qDir)).toEqual([[]]);

  // Nothing changed: qwinsta asked, PowerShell spared, the same list.
  now += 15_000;
  expect(await names()).toEqual(['CORP\\alice/session 1']);
  expect(psRuns()).toBe(1);
  expect(calls(qDir)).toHaveLength(2);

  // Bob signs in by fast user switching: qwinsta's output differs, so the full read runs.
  sessions([{ user: 'alice', session: 1 }, { user: 'bob', session: 2 }]);
  qwinsta(' SESSIONNAME  USERNAME  ID  STATE\n>services           0  Disc\n           alice  1  Disc\n console  bob  2  Active\n');
  now += 15_000;
  expect(await names()).toEqual(['CORP\\alice/session 1', 'CORP\\bob/session 2']);
  expect(psRuns()).toBe(2);

  // Unchanged again, but the last full read is five minutes old: read in full anyway.
  now += 300_000;
  expect(await names()).toHaveLength(2);
  expect(psRuns()).toBe(3);

  // qwinsta fails: it cannot vouch for anything, so every poll reads in full.
  writeFileSync(join(qDir, 'fail'), 'Error 5 getting session names\n');
  now += 15_000;
  await source();
  now += 15_000;
  await source();
  expect(psRuns()).toBe(5);
  rmSync(join(qDir, 'fail'));

  // A failed full read is not remembered: the next poll reads in full even with an unchanged mark.
  clearCalls(psDir);
  writeFileSync(join(psDir, 'fail'), 'Get-CimInstance : Access denied\n');
  qwinsta('changed\n');
  now += 15_000;
  await expect(source()).rejects.toThrow(/powershell\.exe/);
  rmSync(join(psDir, 'fail'));
  now += 15_000;
  expect(await names()).toHaveLength(2);
  expect(psRuns()).toBe(2);
  now += 15_000;
  await source();
  expect(psRuns()).toBe(2);
});
