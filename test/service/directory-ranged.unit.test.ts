// Active Directory's ranged retrieval of `member` (service/directories/
// ranged.ts), the pure part only: OpenLDAP never answers in ranges, and no
// Active Directory is available to the tests, so this is NOT checked against
// a real server. `slicer` below answers as Microsoft documents AD to
// (MaxValRange values per answer, the last slice's range ending in `*`);
// the parser and the loop are checked against it and against malformed or
// looping answers.
import { describe, expect, it } from 'vitest';
import { allValues, nextRequest, parseRange, sliceOf } from '../../service/directories/ranged.ts';

describe('parseRange', () => {
  it.each([
    ['member;range=0-1499', { start: 0, end: 1499 }],
    ['member;range=1500-*', { start: 1500, end: null }],
    ['Member;Range=3000-4499', { start: 3000, end: 4499 }],
    ['MEMBER;RANGE=0-*', { start: 0, end: null }],
    ['member;binary;range=5-5', { start: 5, end: 5 }],
    ['member;range=0-0', { start: 0, end: 0 }],
    ['member', null],
    ['member;binary', null],
    ['memberOf;range=0-1499', null],
    ['uniqueMember;range=0-1499', null],
    ['cn', null],
  ])('%s', (description, want) => {
    expect(parseRange(description, 'member')).toEqual(want);
  });

  it.each(['member;range=', 'member;range=a-b', 'member;range=0-', 'member;range=-5', 'member;range=0-1499-2', 'member;range=10-9', 'member;range=0-**', 'member;range=1234567890-*'])(
    'refuses %s', (description) => {
      expect(() => parseRange(description, 'member')).toThrow(expect.objectContaining({ code: 'DIRECTORY_FAILED' }));
    });
});

describe('sliceOf', () => {
  it('takes plain values, or AD\'s empty plain attribute beside a slice', () => {
    expect(sliceOf({ cn: ['g'], member: ['a', 'b'] }, 'member')).toEqual({ values: ['a', 'b'], range: null });
    expect(sliceOf({ member: [], 'member;range=0-1': ['a', 'b'] }, 'member')).toEqual({ values: ['a', 'b'], range: { start: 0, end: 1 } });
    expect(sliceOf({ cn: ['g'] }, 'member')).toEqual({ values: [], range: null });
  });
  it('refuses two slices in one answer', () => {
    expect(() => sliceOf({ 'member;range=0-1': ['a', 'b'], 'member;range=2-*': ['c'] }, 'member')).toThrow(/two ranges/);
  });
});

describe('nextRequest', () => {
  it('asks for the rest after a full slice, and stops at the last one or without ranges', () => {
    expect(nextRequest('member', { start: 0, end: 1499 }, 1500, 0)).toBe('member;range=1500-*');
    expect(nextRequest('member', { start: 1500, end: 2999 }, 1500, 1500)).toBe('member;range=3000-*');
    expect(nextRequest('member', { start: 3000, end: null }, 12, 3000)).toBeNull();
    expect(nextRequest('member', null, 7, 0)).toBeNull();
  });
  it('refuses a slice that starts elsewhere, or whose count does not fit its range (no loop on a bad server)', () => {
    expect(() => nextRequest('member', { start: 1, end: 1500 }, 1500, 0)).toThrow(/from 1, not from 0/);
    expect(() => nextRequest('member', { start: 10, end: null }, 3, 0)).toThrow(/from 10, not from 0/);
    expect(() => nextRequest('member', { start: 0, end: 1499 }, 0, 0)).toThrow(/with 0 values/);
    expect(() => nextRequest('member', { start: 0, end: 1499 }, 1499, 0)).toThrow(/with 1499 values/);
  });
});

/** Answers like AD with MaxValRange `max`: the entry itself, then `member;range=a-*` requests. */
function slicer(members: string[], max: number) {
  const answer = (start: number): Record<string, string[]> => {
    const rest = members.slice(start);
    if (start === 0 && rest.length <= max) return { member: rest };
    const part = rest.slice(0, max);
    const last = rest.length <= max;
    return { member: [], [`member;range=${start}-${last ? '*' : start + part.length - 1}`]: part };
  };
  const requests: string[] = [];
  return {
    first: { objectClass: ['group'], ...answer(0) },
    requests,
    fetch: async (description: string) => {
      requests.push(description);
      const m = description.match(/^member;range=(\d+)-\*$/);
      if (!m) throw new Error(`unexpected request ${description}`);
      return answer(Number(m[1]));
    },
  };
}

describe('allValues against an AD-like slicer', () => {
  const cases: [number, number][] = [];
  for (const max of [1500, 1000, 7, 1]) for (const n of [0, 1, max - 1, max, max + 1, 2 * max, 2 * max + 1, 3 * max + 5]) if (n >= 0 && n <= 5000) cases.push([n, max]);
  it.each(cases)('%i members, %i per answer: every member once, in order, with the fewest requests', async (n, max) => {
    const members = Array.from({ length: n }, (_, i) => `CN=pc-${i},OU=computers,DC=corp`);
    const s = slicer(members, max);
    const r = await allValues('member', s.first, s.fetch);
    expect(r.values).toEqual(members);
    const want = n <= max ? 0 : Math.ceil(n / max) - 1;
    expect(r.requests).toBe(want);
    expect(s.requests).toEqual(Array.from({ length: want }, (_, i) => `member;range=${(i + 1) * max}-*`));
  });

  it('stops when a server answers a ranged request with nothing at all', async () => {
    const r = await allValues('member', { 'member;range=0-1': ['a', 'b'] }, async () => ({}));
    expect(r).toEqual({ values: ['a', 'b'], requests: 1 });
  });

  it('refuses a server that answers a ranged request without a range, or never ends', async () => {
    await expect(allValues('member', { 'member;range=0-1': ['a', 'b'] }, async () => ({ member: ['c'] }))).rejects.toThrow(/without a range/);
    let i = 0;
    const endless = async () => { i += 2; return { [`member;range=${i}-${i + 1}`]: ['x', 'y'] }; };
    await expect(allValues('member', { 'member;range=0-1': ['a', 'b'] }, endless, 50)).rejects.toThrow(/after 50 requests/);
  });
});
