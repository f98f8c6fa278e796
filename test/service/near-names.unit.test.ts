// "Did you mean ...?" on a name that was not found: the pure matcher (the
// real service's NOT_FOUND answer is in near-names.test.ts).
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, maxEdits, nearNames } from '../../service/licensing/near-names.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0], ['a', '', 1], ['', 'abc', 3], ['kitten', 'sitting', 3], ['laptops', 'laptps', 1],
    ['laptops', 'lpatops', 1], ['abc', 'acb', 1], ['abc', 'abc', 0], ['ab', 'ba', 1], ['flaw', 'lawn', 2],
    ['écran', 'ecran', 1], ['😀x', 'x😀', 1],
  ])('%s -> %s is %i', (a, b, d) => {
    expect(editDistance(a, b, 10)).toBe(d);
    expect(editDistance(b, a, 10)).toBe(d);
  });

  it('stops at the limit', () => {
    expect(editDistance('kitten', 'sitting', 2)).toBe(3);
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
    expect(editDistance('abcdef', 'ghijkl', 1)).toBe(2);
  });

  it('allows more edits for longer names', () => {
    expect([maxEdits('ab'), maxEdits('abc'), maxEdits('abcd'), maxEdits('abcdefgh'), maxEdits('abcdefghi')]).toEqual([1, 1, 2, 2, 3]);
  });
});

describe('nearNames', () => {
  const names = ['Shared laptops', 'Shared desktops', 'Lab', 'Library', 'This computer', 'Teachers', 'Reception'];
  it('suggests names with a typo, in another case, or that start with what was typed', () => {
    expect(nearNames('Shared laptps', names)).toEqual(['Shared laptops']);
    expect(nearNames('shared LAPTOPS', names)).toEqual(['Shared laptops']);
    expect(nearNames('Shraed laptops', names)).toEqual(['Shared laptops']);
    expect(nearNames('Shared', names)).toEqual(['Shared desktops', 'Shared laptops']);
    expect(nearNames('  this comp ', names)).toEqual(['This computer']);
    expect(nearNames('Teacher', names)).toEqual(['Teachers']);
    expect(nearNames('Lbrary', names)).toEqual(['Library']);
  });

  it('puts the closest first and returns at most max', () => {
    expect(nearNames('Lab', ['Lab1', 'Lab', 'Lab2', 'Labs', 'Lob'], 3)).toEqual(['Lab', 'Lab1', 'Lab2']);
    expect(nearNames('Lob', ['Lab', 'Lob', 'Lobby'])).toEqual(['Lob', 'Lobby', 'Lab']);
    expect(nearNames('Lab', ['Lab1', 'Lab2', 'Labs', 'Lob'], 1)).toHaveLength(1);
  });

  it('suggests nothing far away, for a blank entry, or from no names', () => {
    expect(nearNames('Kitchen', names)).toEqual([]);
    expect(nearNames('xy', names)).toEqual([]);
    expect(nearNames('', names)).toEqual([]);
    expect(nearNames('   ', names)).toEqual([]);
    expect(nearNames('Shared laptops', [])).toEqual([]);
    // A two-letter prefix is too short to mean anything.
    expect(nearNames('Sh', names)).toEqual([]);
  });

  it('words the hint', () => {
    expect(didYouMean([])).toBe('');
    expect(didYouMean(['A'])).toBe("; did you mean 'A'?");
    expect(didYouMean(['A', 'B'])).toBe("; did you mean 'A' or 'B'?");
    expect(didYouMean(['A', 'B', 'C'])).toBe("; did you mean 'A', 'B' or 'C'?");
  });
});
