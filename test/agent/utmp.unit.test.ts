// The utmp parser against records built byte by byte.
import { describe, expect, it } from 'vitest';
import { parseUtmp, signedIn, USER_PROCESS, DEAD_PROCESS } from '../../agent/host/utmp.ts';
import { utmpRecord } from './helpers/utmp-record.ts';

const BOOT_TIME = 2;
const LOGIN_PROCESS = 6;

describe('parseUtmp', () => {
  it('reads every field at its offset', () => {
    const buf = utmpRecord({ type: USER_PROCESS, pid: 4242, line: 'tty2', id: 'tty2', user: 'alice', host: 'example.org', timeMs: 1_700_000_000_123 });
    const [r] = parseUtmp(buf, true);
    expect(r).toEqual({ type: 7, pid: 4242, line: 'tty2', id: 'tty2', user: 'alice', host: 'example.org', timeMs: 1_700_000_000_123 });
  });

  it('handles fields that fill their whole width (no NUL terminator)', () => {
    const user = 'u'.repeat(32);
    const line = 'l'.repeat(32);
    const [r] = parseUtmp(utmpRecord({ type: USER_PROCESS, user, line }), true);
    expect(r.user).toBe(user);
    expect(r.line).toBe(line);
  });

  it('reads big-endian files when asked', () => {
    const [r] = parseUtmp(utmpRecord({ type: USER_PROCESS, pid: 7, user: 'bob', timeMs: 1000 }, false), false);
    expect(r).toMatchObject({ type: 7, pid: 7, user: 'bob', timeMs: 1000 });
  });

  it('ignores a trailing partial record', () => {
    const buf = Buffer.concat([utmpRecord({ type: USER_PROCESS, user: 'a' }), Buffer.alloc(100)]);
    expect(parseUtmp(buf, true)).toHaveLength(1);
    expect(parseUtmp(Buffer.alloc(0), true)).toEqual([]);
  });
});

describe('signedIn', () => {
  it('lists only USER_PROCESS records with a user, once per user and line', () => {
    const buf = Buffer.concat([
      utmpRecord({ type: BOOT_TIME, user: 'reboot', line: '~' }),
      utmpRecord({ type: LOGIN_PROCESS, user: 'LOGIN', line: 'tty1' }),
      utmpRecord({ type: USER_PROCESS, user: 'alice', line: 'tty2', timeMs: 5000 }),
      utmpRecord({ type: USER_PROCESS, user: 'alice', line: 'pts/0', host: '10.0.0.2' }),
      utmpRecord({ type: DEAD_PROCESS, user: 'carol', line: 'pts/1' }),
      utmpRecord({ type: USER_PROCESS, user: '', line: 'pts/2' }),
      utmpRecord({ type: USER_PROCESS, user: 'bob', line: ':0' }),
      utmpRecord({ type: USER_PROCESS, user: 'bob', line: ':0' }),
    ]);
    const now = signedIn(parseUtmp(buf, true));
    expect(now.map((s) => `${s.user}@${s.line}`)).toEqual(['alice@tty2', 'alice@pts/0', 'bob@:0']);
    expect(now[0].sinceMs).toBe(5000);
    expect(now[1].host).toBe('10.0.0.2');
  });

  it('treats a sign-out (record turned DEAD_PROCESS) as gone', () => {
    const before = signedIn(parseUtmp(utmpRecord({ type: USER_PROCESS, user: 'alice', line: 'tty2' }), true));
    const after = signedIn(parseUtmp(utmpRecord({ type: DEAD_PROCESS, user: 'alice', line: 'tty2' }), true));
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(0);
  });
});
