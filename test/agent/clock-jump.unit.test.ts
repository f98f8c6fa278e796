// JumpDetector: wall-clock moves not matched by monotonic time are jumps;
// ordinary elapsed time (however long) and small NTP corrections are not.
import { describe, expect, it } from 'vitest';
import { JumpDetector, JUMP_THRESHOLD_MS } from '../../agent/decision/clock.ts';

const DAY = 86_400_000;

describe('JumpDetector', () => {
  it('sees nothing on the first reading or when both clocks move together', () => {
    const d = new JumpDetector();
    expect(d.observe(1_000_000, 0)).toBeNull();
    expect(d.observe(1_000_000 + 30 * DAY, 30 * DAY)).toBeNull();
  });

  it('reports forward and back jumps with their size, then re-baselines', () => {
    const d = new JumpDetector();
    d.observe(0, 0);
    expect(d.observe(365 * DAY + 1000, 1000)).toBe(365 * DAY);
    expect(d.observe(365 * DAY + 2000, 2000)).toBeNull();
    expect(d.observe(-365 * DAY + 3000, 3000)).toBe(-730 * DAY);
  });

  it('ignores corrections within the threshold', () => {
    const d = new JumpDetector();
    d.observe(0, 0);
    expect(d.observe(JUMP_THRESHOLD_MS, 0)).toBeNull();
    expect(d.observe(JUMP_THRESHOLD_MS - 1, 1000)).toBeNull();
  });
});
