// Sign-in domain aliases (shared/sign-in-domains.ts): which NetBIOS and DNS
// names are accepted and how they are stored, how a normalised sign-in name
// resolves to its person (one step, never guessed), the spellings of one
// person, the merges an alias causes, and that the seq a device is answered
// with for one asked name keeps growing through any history of alias
// changes (what the agent's replay watermark needs).
import { describe, expect, it } from 'vitest';
import {
  answerSeq, checkDnsDomain, checkNetbiosDomain, domainWildcards, mergedBy, normaliseDnsDomain, normaliseNetbiosDomain,
  PERSON_SEQ_SPAN, SignInDomains, withPersons, type SignInDomainAlias,
} from '../../shared/sign-in-domains.ts';
import { normaliseSignInName } from '../../shared/sign-in.ts';
import { DevlicError } from '../../shared/errors.ts';
import { mulberry32 } from '../helpers/prng.ts';

describe('NetBIOS and DNS domain names', () => {
  it.each([['CORP', 'corp'], [' Corp ', 'corp'], ['EMEA-01', 'emea-01'], ['OLD_DOM', 'old_dom'], ['X', 'x'], ['ABCDEFGHIJKLMNO', 'abcdefghijklmno'], ['MÜNCHEN', 'münchen']])(
    'NetBIOS %j -> %j', (raw, want) => {
      expect(normaliseNetbiosDomain(raw)).toBe(want);
      // What the sign-in normaliser makes of DOMAIN\user has the same domain part.
      expect(normaliseSignInName(`${raw.trim()}\\alice`)).toBe(`alice@${want}`);
    });

  it.each([
    ['', /empty/], ['   ', /empty/], ['ABCDEFGHIJKLMNOP', /longer than 15/], ['corp.example.com', /DNS domain/], ['CORP\\X', /contains "\\\\"/],
    ['CO RP', /contains " "/], ['CORP@', /contains "@"/], ['CO,RP', /contains ","/], ['CO/RP', /contains "\/"/], ['CO\u202eRP', /contains/],
  ])('refuses NetBIOS %j with SIGN_IN_DOMAIN_INVALID', (raw, why) => {
    const r = checkNetbiosDomain(raw);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(why);
    expect(() => normaliseNetbiosDomain(raw)).toThrow(expect.objectContaining({ code: 'SIGN_IN_DOMAIN_INVALID' }));
    expect(() => normaliseNetbiosDomain(raw)).toThrow(DevlicError);
  });

  it.each([['corp.example.com', 'corp.example.com'], ['Corp.Example.COM.', 'corp.example.com'], ['a-b.c0', 'a-b.c0'], ['xn--mnchen-3ya.de', 'xn--mnchen-3ya.de']])(
    'DNS %j -> %j', (raw, want) => expect(normaliseDnsDomain(raw)).toBe(want));

  it.each([
    ['', /empty/], ['corp', /one label/], ['corp..com', /invalid label ''/], ['-corp.com', /invalid label '-corp'/], ['corp-.com', /invalid label/],
    ['co rp.com', /invalid label/], ['münchen.de', /invalid label/], ['corp_x.com', /invalid label/], [`${'a'.repeat(64)}.com`, /invalid label/],
    [`${'a.'.repeat(127)}com`, /longer than 253/], ['alice@corp.com', /invalid label/],
  ])('refuses DNS %j with SIGN_IN_DOMAIN_INVALID', (raw, why) => {
    const r = checkDnsDomain(raw);
    expect(!r.ok && r.message).toMatch(why);
    expect(() => normaliseDnsDomain(raw)).toThrow(expect.objectContaining({ code: 'SIGN_IN_DOMAIN_INVALID' }));
  });

  it('refuses what is not a string', () => {
    for (const v of [undefined, null, 5, {}]) {
      expect(checkNetbiosDomain(v).ok).toBe(false);
      expect(checkDnsDomain(v).ok).toBe(false);
    }
  });
});

describe('resolving names to people', () => {
  const table = new SignInDomains([
    { netbios: 'corp', dns: 'corp.example.com', generation: 1 },
    { netbios: 'corp2', dns: 'corp.example.com', generation: 3 },
    { netbios: 'old', dns: null, generation: 2 },
  ]);
  const cases: [string, string][] = [
    ['CORP\\Alice', 'alice@corp.example.com'],
    ['alice@corp', 'alice@corp.example.com'],
    ['CORP2\\alice', 'alice@corp.example.com'],
    ['alice@corp.example.com', 'alice@corp.example.com'],
    ['CORP.EXAMPLE.COM\\alice', 'alice@corp.example.com'],
    ['OLD\\alice', 'alice@old'], // removed alias: back to the NetBIOS spelling
    ['alice@corpx', 'alice@corpx'],
    ['alice@xcorp', 'alice@xcorp'],
    ['alice@sub.corp', 'alice@sub.corp'], // a DNS domain ending in a NetBIOS name is not that NetBIOS domain
    ['alice', 'alice'], // local accounts have no domain
    ['.\\alice', 'alice'],
  ];
  it.each(cases)('%j is the person %j', (raw, person) => {
    expect(table.personOf(raw)).toBe(person);
    // One step: a person resolves to itself (a DNS domain is never a NetBIOS key: it has a dot).
    expect(table.person(person)).toBe(person);
  });

  it('spellings are exactly the names that resolve to the person', () => {
    expect(table.spellings('alice@corp.example.com').sort()).toEqual(['alice@corp', 'alice@corp.example.com', 'alice@corp2']);
    expect(table.spellings('alice@old')).toEqual(['alice@old']);
    expect(table.spellings('alice')).toEqual(['alice']);
    for (const [raw, person] of cases) expect(table.spellings(person)).toContain(normaliseSignInName(raw));
  });

  it('no names at all without an alias: the empty table changes nothing', () => {
    const none = new SignInDomains([]);
    for (const [raw] of cases) expect(none.personOf(raw)).toBe(normaliseSignInName(raw));
    expect(none.generation('alice@corp')).toBe(0);
  });

  it('personOf is null for what is no sign-in name; withPersons adds a person only where an alias maps the name', () => {
    expect(table.personOf('a,b')).toBeNull();
    const users = [{ name: 'CORP\\Bob', mode: 'full' }, { name: 'a,b', mode: 'read-only' }, { name: 'carol', mode: 'full' }];
    expect(withPersons(users, table)).toEqual([
      { name: 'CORP\\Bob', mode: 'full', person: 'bob@corp.example.com' }, { name: 'a,b', mode: 'read-only' }, { name: 'carol', mode: 'full' },
    ]);
  });

  it('reports the names an alias merges, and only those', () => {
    const listed = ['alice@corp', 'alice@corp.example.com', 'bob@corp', 'carol@corp.example.com', 'dave@xcorp', 'dave@corp.example.com', 'erin@corp2'];
    expect(mergedBy('corp', 'corp.example.com', listed)).toEqual([{ from: 'alice@corp', into: 'alice@corp.example.com' }]);
    expect(mergedBy('corp', 'other.example.com', listed)).toEqual([]);
  });

  it('announces alias changes as @domain wildcards, which no sign-in name can be', () => {
    expect(domainWildcards('corp', 'corp.example.com', null)).toEqual(['@corp', '@corp.example.com']);
    expect(() => normaliseSignInName('@corp')).toThrow(expect.objectContaining({ code: 'SIGN_IN_NAME_INVALID' }));
  });
});

describe('answerSeq', () => {
  it('counts the alias generation above every person seq', () => {
    expect(answerSeq(0, 1)).toBe(1);
    expect(answerSeq(1, 1)).toBe(PERSON_SEQ_SPAN + 1);
    expect(answerSeq(1, PERSON_SEQ_SPAN - 1)).toBeLessThan(answerSeq(2, 1));
    expect(() => answerSeq(0, PERSON_SEQ_SPAN)).toThrow(/beyond/);
  });

  it('the answers for one asked name grow through any history of alias changes and licence changes', () => {
    const rnd = mulberry32(16);
    for (let run = 0; run < 200; run++) {
      // Two people whose seqs grow independently; the asked name alice@corp is one or the other, as the alias says.
      const seq = new Map([['alice@corp', 1], ['alice@corp.example.com', 1]]);
      let alias = null as SignInDomainAlias | null;
      let last = 0;
      let lastPerson = '';
      for (let step = 0; step < 40; step++) {
        const r = rnd();
        if (r < 0.3) alias = { netbios: 'corp', dns: alias?.dns ? null : 'corp.example.com', generation: (alias?.generation ?? 0) + 1 };
        else if (r < 0.65) seq.set('alice@corp', seq.get('alice@corp')! + 1);
        else seq.set('alice@corp.example.com', seq.get('alice@corp.example.com')! + 1);
        const t = new SignInDomains(alias ? [alias] : []);
        const person = t.person('alice@corp');
        const now = answerSeq(t.generation('alice@corp'), seq.get(person)!);
        expect(now).toBeGreaterThanOrEqual(last);
        // A different person behind the name is always a strictly newer answer.
        if (lastPerson && person !== lastPerson) expect(now).toBeGreaterThan(last);
        last = now;
        lastPerson = person;
      }
    }
  });
});
