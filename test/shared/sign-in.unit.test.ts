// Sign-in name normalisation (shared/sign-in.ts): every form it accepts, what
// it maps them to, every refusal, and the properties the rest of devlic
// relies on (idempotent; equal after normalising <=> same account).
import { describe, expect, it } from 'vitest';
import { checkSignInName, normaliseSignInName, sameSignIn, SIGN_IN_NAME_MAX } from '../../shared/sign-in.ts';
import { DevlicError } from '../../shared/errors.ts';

describe('normaliseSignInName', () => {
  const accepted: [string, string][] = [
    ['alice', 'alice'],
    ['Alice', 'alice'],
    ['ALICE', 'alice'],
    ['  alice  ', 'alice'],
    ['alice@contoso.com', 'alice@contoso.com'],
    ['Alice@Contoso.COM', 'alice@contoso.com'],
    ['CONTOSO\\alice', 'alice@contoso'],
    ['contoso\\Alice', 'alice@contoso'],
    ['CONTOSO.COM\\alice', 'alice@contoso.com'],
    ['.\\alice', 'alice'],
    ['.\\Alice Smith', 'alice smith'],
    ['Alice Smith', 'alice smith'],
    ['a.b-c_d$', 'a.b-c_d$'],
    ['Jürgen', 'jürgen'],
    ['Ju\u0308rgen', 'jürgen'], // decomposed ü becomes the composed one (NFC)
    ['x'.repeat(SIGN_IN_NAME_MAX), 'x'.repeat(SIGN_IN_NAME_MAX)],
  ];
  it.each(accepted)('%j -> %j', (raw, want) => {
    expect(normaliseSignInName(raw)).toBe(want);
    // Idempotent: a stored name normalises to itself.
    expect(normaliseSignInName(want)).toBe(want);
  });

  const refused: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['only spaces', '   ', /empty/],
    ['too long', 'x'.repeat(SIGN_IN_NAME_MAX + 1), /longer/],
    ['NUL', 'ali\u0000ce', /control/],
    ['newline', 'alice\nbob', /control/],
    ['tab', 'ali\tce', /control/],
    ['DEL', 'alice\u007f', /control/],
    ['bidi override', 'alice\u202e', /control|bidi/],
    ['line separator', 'ali\u2028ce', /control|separator/],
    ['double space', 'alice  smith', /single spaces/],
    ['no-break space', 'alice\u00a0smith', /single spaces/],
    ['comma', 'alice,bob', /','/],
    ['slash', 'contoso/alice', /'\/'/],
    ['colon', 'a:b', /':'/],
    ['star', 'a*', /'\*'/],
    ['quote', 'a"b', /'"'/],
    ['angle', 'a<b', /'<'/],
    ['two backslashes', 'A\\B\\c', /must be/],
    ['two ats', 'a@b@c', /must be/],
    ['both forms', 'CONTOSO\\alice@contoso.com', /must be/],
    ['empty user after domain', 'CONTOSO\\', /empty/],
    ['empty domain before user', '\\alice', /empty/],
    ['empty user before @', '@contoso.com', /empty/],
    ['empty domain after @', 'alice@', /empty/],
    ['space around @', 'alice @contoso', /empty/],
    ['space around \\', 'CONTOSO\\ alice', /empty/],
  ];
  it.each(refused)('refuses %s', (_name, raw, msg) => {
    const r = checkSignInName(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(msg);
    let err: unknown;
    try {
      normaliseSignInName(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DevlicError);
    expect((err as DevlicError).code).toBe('SIGN_IN_NAME_INVALID');
    expect((err as DevlicError).httpStatus).toBe(400);
  });

  it('refuses a name that only lower-casing makes too long', () => {
    // U+0130 lower-cases to two UTF-16 units.
    const r = checkSignInName('\u0130'.repeat(SIGN_IN_NAME_MAX));
    expect(r.ok).toBe(false);
  });

  it('treats the down-level and UPN-style spellings of one account as the same, and nothing else', () => {
    expect(sameSignIn('CONTOSO\\Alice', 'alice@contoso')).toBe(true);
    expect(sameSignIn('.\\alice', 'ALICE')).toBe(true);
    // A NetBIOS domain is not guessed to be a DNS domain.
    expect(sameSignIn('CONTOSO\\alice', 'alice@contoso.com')).toBe(false);
    expect(sameSignIn('alice', 'alice@contoso')).toBe(false);
    expect(sameSignIn('alice', 'bob')).toBe(false);
    expect(sameSignIn('', '')).toBe(false);
    expect(sameSignIn('a,b', 'a,b')).toBe(false);
  });

  it('maps every accepted spelling of a generated set to one canonical form (exhaustive over case and form)', () => {
    const users = ['alice', 'Bob.Smith', 'x_1'];
    const domains = ['contoso', 'Corp.Example'];
    for (const u of users) {
      for (const d of domains) {
        const forms = [`${u}@${d}`, `${d}\\${u}`, `${u.toUpperCase()}@${d.toLowerCase()}`, `${d.toUpperCase()}\\${u.toLowerCase()}`, ` ${u}@${d} `];
        const names = new Set(forms.map(normaliseSignInName));
        expect(names).toEqual(new Set([`${u}@${d}`.toLowerCase()]));
      }
      expect(normaliseSignInName(`.\\${u.toUpperCase()}`)).toBe(u.toLowerCase());
    }
  });
});
