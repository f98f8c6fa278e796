// Reading who is signed in on Windows (agent/host/windows-sessions.ts), the
// pure part: the script's JSON becomes one session per (DOMAIN\user,
// session id); anything malformed is an error, never "nobody signed in".
import { describe, expect, it } from 'vitest';
import { encodeCommand, parseWindowsSessions, powershellArgs, SESSIONS_SCRIPT } from '../../agent/host/windows-sessions.ts';
import { platformSessionSource, sessionSourceKind } from '../../agent/host/sessions.ts';
import { checkSignInName } from '../../shared/sign-in.ts';

const e = (user: string, domain: string | null, session: number, since = '2026-12-03T08:00:00.0000000Z') => ({ user, domain, session, since });

describe('parseWindowsSessions', () => {
  it('reports every person signed in, one session each, with their domain (fast user switching: two people)', () => {
    const out = parseWindowsSessions(JSON.stringify([e('alice', 'CORP', 1), e('bob', 'CORP', 3, '2026-12-03T09:30:00.0000000Z')]));
    expect(out).toEqual([
      { user: 'CORP\\alice', line: 'session 1', host: '', sinceMs: Date.parse('2026-12-03T08:00:00Z') },
      { user: 'CORP\\bob', line: 'session 3', host: '', sinceMs: Date.parse('2026-12-03T09:30:00Z') },
    ]);
    // The names are sign-in names the service and the per-user decision understand.
    expect(out.map((s) => checkSignInName(s.user))).toEqual([{ ok: true, name: 'alice@corp' }, { ok: true, name: 'bob@corp' }]);
  });

  it('takes a single object (ConvertTo-Json without an array), an empty list and empty output as they are', () => {
    expect(parseWindowsSessions(JSON.stringify(e('alice', 'CORP', 2))).map((s) => s.user)).toEqual(['CORP\\alice']);
    expect(parseWindowsSessions('[]')).toEqual([]);
    expect(parseWindowsSessions('\r\n')).toEqual([]);
  });

  it('skips session 0 (services) and a second explorer.exe in the same session; keeps one person in two sessions', () => {
    const out = parseWindowsSessions(JSON.stringify([e('svc', 'NT AUTHORITY', 0), e('alice', 'CORP', 1), e('Alice', 'CORP', 1), e('alice', 'CORP', 4)]));
    expect(out.map((s) => `${s.user}/${s.line}`)).toEqual(['CORP\\alice/session 1', 'CORP\\alice/session 4']);
  });

  it('names a person without a domain by the user name alone; an unreadable start time is 0 (the agent uses its own clock)', () => {
    const out = parseWindowsSessions(JSON.stringify([{ user: 'kiosk', domain: '', session: 2, since: 'yesterday' }, { user: 'lab', session: 5 }]));
    expect(out).toEqual([{ user: 'kiosk', line: 'session 2', host: '', sinceMs: 0 }, { user: 'lab', line: 'session 5', host: '', sinceMs: 0 }]);
  });

  it.each([
    ['not JSON', 'Get-CimInstance : Access denied', /not JSON/],
    ['a bare string', '"alice"', /not an object/],
    ['no user', JSON.stringify([{ domain: 'CORP', session: 1 }]), /no user name/],
    ['empty user', JSON.stringify([e(' ', 'CORP', 1)]), /no user name/],
    ['no session id', JSON.stringify([{ user: 'alice', domain: 'CORP' }]), /no session id/],
    ['negative session', JSON.stringify([e('alice', 'CORP', -1)]), /no session id/],
    ['domain not text', JSON.stringify([{ user: 'alice', domain: 7, session: 1 }]), /domain is not text/],
  ])('refuses %s', (_what, stdout, message) => {
    expect(() => parseWindowsSessions(stdout)).toThrow(message);
  });
});

describe('the PowerShell command line', () => {
  it('is fixed: the script travels as -EncodedCommand (UTF-16LE base64), with no profile and no prompts', () => {
    const args = powershellArgs();
    expect(args.slice(0, 4)).toEqual(['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand']);
    expect(Buffer.from(args[4]!, 'base64').toString('utf16le')).toBe(SESSIONS_SCRIPT);
    expect(encodeCommand('a')).toBe('YQA=');
    // Every explorer.exe, not the first only; its owner's domain too; always an array.
    expect(SESSIONS_SCRIPT).toContain("Name='explorer.exe'");
    expect(SESSIONS_SCRIPT).not.toMatch(/\[0\]/);
    expect(SESSIONS_SCRIPT).toContain('domain = $o.Domain');
    expect(SESSIONS_SCRIPT).toContain('-InputObject $list');
  });

  it('is the source on Windows; Linux reads utmp and macOS systeminformation', () => {
    expect(sessionSourceKind('win32')).toBe('windows-explorer');
    expect(sessionSourceKind('darwin')).toBe('systeminformation');
    expect(sessionSourceKind('linux')).toBe('utmp');
    for (const p of ['win32', 'darwin', 'linux'] as const) expect(typeof platformSessionSource('/var/run/utmp', p)).toBe('function');
  });
});
