// The Windows session source up to the process boundary (no Windows here): a
// recording fake powershell.exe gets exactly the fixed, encoded command line,
// its JSON becomes sessions, and a failing PowerShell is an error (the
// session watcher then keeps the sessions it knew) rather than "nobody".
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { powershellArgs, windowsSessionsSource } from '../../agent/host/windows-sessions.ts';
import { calls, fakeExe, tempDir } from '../enforce/helpers.ts';

it('runs powershell.exe with the fixed arguments and reads every session it lists', async () => {
  const dir = tempDir();
  const ps = fakeExe(dir, 'powershell.exe', 'fake-powershell.mjs');
  writeFileSync(join(dir, 'sessions.json'), JSON.stringify([
    { user: 'alice', domain: 'CORP', session: 1, since: '2026-12-03T08:00:00.0000000Z' },
    { user: 'bob', domain: 'CORP', session: 2, since: '2026-12-03T08:05:00.0000000Z' },
  ]));
  const sessions = await windowsSessionsSource(ps)();
  expect(sessions.map((s) => `${s.user}/${s.line}`)).toEqual(['CORP\\alice/session 1', 'CORP\\bob/session 2']);
  expect(calls(dir)).toEqual([powershellArgs()]);
});

it('a failing PowerShell is an error that says what failed', async () => {
  const dir = tempDir();
  const ps = fakeExe(dir, 'powershell.exe', 'fake-powershell.mjs');
  writeFileSync(join(dir, 'fail'), '');
  await expect(windowsSessionsSource(ps)()).rejects.toThrow(/listing Windows sessions \(powershell\.exe\) exited with code 1: Get-CimInstance : Access denied/);
  await expect(windowsSessionsSource(join(dir, 'missing.exe'))()).rejects.toThrow(/could not be started/);
});
