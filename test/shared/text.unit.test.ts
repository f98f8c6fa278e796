// The one rule for device-supplied text (PLAIN_TEXT_PATTERN, as the service
// compiles it) and the agent's cleaning (toPlainText), checked over every
// UTF-16 code unit and a sample of astral characters; and the agent's facts
// and status report, built from hostile raw values, pass the service's schemas.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { PlainText } from '../../shared/schemas/common.ts';
import { DeviceFacts, StatusReport } from '../../shared/schemas/device.ts';
import { toPlainText } from '../../shared/text.ts';
import { factsFromRaw } from '../../agent/host/identity.ts';
import { buildStatusReport } from '../../agent/report/report.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { tempDir } from '../helpers/processes.ts';

const text = Compile(PlainText({ maxLength: 64 }));
function refused(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || (cp >= 0xd800 && cp <= 0xdfff);
}
/** Anything a hostile user name, hostname or error message could hold. */
const HOSTILE = 'bob\u001b[31m\r\nfake: line\u0000\u0085\u202eevil\u2028\ud800\t😀\udc00 ';

describe('the plain-text rule', () => {
  it('refuses exactly the listed characters, alone or inside text, for every UTF-16 code unit', () => {
    for (let cp = 0; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp);
      expect(text.Check(`a${c}b`), `U+${cp.toString(16)}`).toBe(!refused(cp));
      const cleaned = toPlainText(`a${c}b`, 64);
      expect(text.Check(cleaned), `cleaned U+${cp.toString(16)}`).toBe(true);
      if (!refused(cp) && c.trim() === c) expect(cleaned).toBe(`a${c}b`);
    }
  });

  it('accepts astral characters (surrogate pairs) and never splits one when cutting', () => {
    for (const s of ['😀', '𝄞', '𠀀', '\u{10ffff}']) {
      expect(text.Check(`x${s}y`)).toBe(true);
      for (let max = 1; max <= 6; max++) expect(text.Check(toPlainText(`${'a'.repeat(max - 1)}${s}${s}`, max))).toBe(true);
    }
  });

  it('cleans hostile text to words separated by spaces', () => {
    expect(toPlainText(HOSTILE, 2048)).toBe('bob [31m fake: line evil 😀');
  });
});

describe('the agent sends only text the service accepts', () => {
  it('facts from a hostile hostname, model and serial pass DeviceFacts', () => {
    const facts = factsFromRaw({ machineId: 'abcdef0123456789', hostname: HOSTILE, manufacturer: HOSTILE, model: `${'m'.repeat(127)}😀`, serial: HOSTILE, hardwareUuid: '', os: HOSTILE }, () => 'fallback-id-123');
    expect(Compile(DeviceFacts).Check(facts)).toBe(true);
    expect(facts.hostname).toBe('bob [31m fake: line evil 😀');
  });

  it('a status report with a hostile user name and a multi-line last error passes StatusReport', () => {
    const store = new Store(openDb(join(tempDir('report'), 'agent.db')));
    store.startSession(HOSTILE, 'tty1', null, Date.now());
    store.startSession('\u0007\u0008', 'tty2', null, Date.now());
    store.recordSync({ at: Date.now(), ok: false, error: `request failed:\n  ${HOSTILE}\n${'e'.repeat(3000)}` });
    const report = buildStatusReport(store, { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' }, null);
    expect(Compile(StatusReport).Check(report)).toBe(true);
    // The user whose name was nothing but control characters is left out, not sent empty.
    // (SQLite, storing UTF-8, has already turned the unpaired surrogates into U+FFFD.)
    expect(report.users.map((u) => u.name)).toEqual(['bob [31m fake: line evil \ufffd 😀\ufffd']);
    expect(report.lastError!.startsWith('request failed: bob [31m')).toBe(true);
    expect(report.lastError!.length).toBeLessThanOrEqual(2048);
  });
});
