// The pure parts of rule membership: what a rule reads from a device row
// (enrollment facts JSON, reported agent version, tags), which devices each
// rule group gets, and how admin tags are checked and normalised.
import { describe, expect, it } from 'vitest';
import { factsOf, ruleMatches } from '../../service/licensing/rule-membership.ts';
import { normalizeTags } from '../../service/licensing/tags.ts';
import { parseRule } from '../../shared/rules/index.ts';

describe('factsOf', () => {
  it('reads the enrollment facts, the agent and OS version columns and the tags; non-strings are left out', () => {
    const row = { id: 'dev_1', facts: JSON.stringify({ hostname: 'lab-1', os: 'Windows', model: 7, machineIdHash: 'x', serial: 'S1', manufacturer: 'M' }), agent_version: '1.2.0', os_version: '10.0.22631' };
    expect(factsOf(row, ['lab'])).toEqual({
      hostname: 'lab-1', os: 'Windows', osVersion: '10.0.22631', manufacturer: 'M', model: null, serial: 'S1', agentVersion: '1.2.0', tags: ['lab'],
    });
  });

  it('unreadable facts match nothing rather than failing the transaction', () => {
    const f = factsOf({ id: 'd', facts: '{not json', agent_version: null, os_version: null }, []);
    expect(f.hostname).toBeNull();
    expect(ruleMatches([{ id: 'g', node: parseRule('hostname like "*"') }], [{ id: 'd', facts: f }]).get('g')).toEqual(new Set());
  });
});

describe('ruleMatches', () => {
  it('gives each rule group exactly the devices its rule matches', () => {
    const devices = [
      { id: 'a', facts: { hostname: 'lab-1', os: 'Windows', tags: ['kiosk'] } },
      { id: 'b', facts: { hostname: 'lab-2', os: 'macOS', tags: [] } },
      { id: 'c', facts: { hostname: 'office', os: 'Windows', tags: [] } },
    ];
    const m = ruleMatches([
      { id: 'lab', node: parseRule('hostname like "lab-*"') },
      { id: 'win', node: parseRule('os == "windows"') },
      { id: 'kiosk', node: parseRule('tags == "kiosk"') },
      { id: 'none', node: parseRule('serial == "x"') },
    ], devices);
    expect(Object.fromEntries([...m].map(([g, s]) => [g, [...s].sort()]))).toEqual({ lab: ['a', 'b'], win: ['a', 'c'], kiosk: ['a'], none: [] });
  });
});

describe('normalizeTags', () => {
  it('lower-cases, trims and de-duplicates', () => {
    expect(normalizeTags(['Lab', ' lab ', 'Floor-2', 'a.b_c:d'])).toEqual(['lab', 'floor-2', 'a.b_c:d']);
  });

  it.each([[''], ['two words'], ['-lead'], ['x'.repeat(65)], ['ümlaut'], ['a/b']])('refuses %j with VALIDATION_FAILED', (t) => {
    expect(() => normalizeTags([t])).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('accepts a 64-character tag', () => {
    expect(normalizeTags(['x'.repeat(64)])).toEqual(['x'.repeat(64)]);
  });
});
