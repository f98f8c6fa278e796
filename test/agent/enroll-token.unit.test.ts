// Where `enroll` and `install` take the enroll token from: --token, a file
// (or standard input), or DEVLIC_ENROLL_TOKEN; exactly one source, and a
// malformed token is refused before anything is sent.
import { describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../shared/cli.ts';
import { AgentError } from '../../agent/errors.ts';
import { enrollTokenFrom, ENROLL_TOKEN_ENV } from '../../agent/cli/enroll-token.ts';
import { tempDir } from '../helpers/processes.ts';

const TOKEN = 'dle_AbCdEf0123456789-_xyz';

describe('enrollTokenFrom', () => {
  it('takes --token as given', () => {
    expect(enrollTokenFrom({ token: TOKEN }, {})).toBe(TOKEN);
  });

  it('reads --token-file, trimming the newline an editor or echo leaves', () => {
    const f = join(tempDir('tok'), 'token');
    writeFileSync(f, `${TOKEN}\n`);
    chmodSync(f, 0o600);
    expect(enrollTokenFrom({ 'token-file': f }, {})).toBe(TOKEN);
  });

  it("reads standard input for --token-file -", () => {
    const seen: (string | 0)[] = [];
    expect(enrollTokenFrom({ 'token-file': '-' }, {}, (p) => { seen.push(p); return `  ${TOKEN}\r\n`; })).toBe(TOKEN);
    expect(seen).toEqual([0]);
  });

  it(`falls back to ${ENROLL_TOKEN_ENV}, and the flags win over it`, () => {
    expect(enrollTokenFrom({}, { [ENROLL_TOKEN_ENV]: TOKEN })).toBe(TOKEN);
    expect(enrollTokenFrom({ token: 'dle_other' }, { [ENROLL_TOKEN_ENV]: TOKEN })).toBe('dle_other');
    expect(enrollTokenFrom({}, { [ENROLL_TOKEN_ENV]: '' })).toBeUndefined();
    expect(enrollTokenFrom({}, {})).toBeUndefined();
  });

  it('refuses two sources, an empty token and something that is not a token', () => {
    expect(() => enrollTokenFrom({ token: TOKEN, 'token-file': '/x' }, {})).toThrow(UsageError);
    expect(() => enrollTokenFrom({ token: '   ' }, {})).toThrow(/from --token is empty/);
    expect(() => enrollTokenFrom({ 'token-file': '-' }, {}, () => '')).toThrow(/from standard input is empty/);
    expect(() => enrollTokenFrom({ 'token-file': '/etc/passwd' }, {}, () => 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1')).toThrow(/is not a token/);
    expect(() => enrollTokenFrom({}, { [ENROLL_TOKEN_ENV]: 'x'.repeat(2000) })).toThrow(/at most 1024 characters/);
  });

  it('says which file could not be read', () => {
    const missing = join(tempDir('tok'), 'nope');
    let err: unknown;
    try {
      enrollTokenFrom({ 'token-file': missing }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as Error).message).toContain(`cannot read the enroll token from ${missing}`);
  });
});
