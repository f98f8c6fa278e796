// The admin event stream quota, without processes: per token and per role.
import { describe, expect, it } from 'vitest';
import { StreamQuota } from '../../service/http/stream-quota.ts';

describe('StreamQuota', () => {
  it('every mix of tokens and roles: a token stops at its cap, a role at its own, other roles unaffected', () => {
    for (const perToken of [1, 2, 3]) {
      for (const perRole of [1, 4, 7]) {
        const q = new StreamQuota({ perToken, perRole });
        let readerOpen = 0;
        for (let t = 0; t < 5; t++) {
          for (let i = 0; i < perToken + 1; i++) {
            const who = { id: `r${t}`, role: 'reader' };
            const refusal = q.refusal(who);
            const expectOk = q.tokenCount(who.id) < perToken && readerOpen < perRole;
            expect(refusal === null).toBe(expectOk);
            if (refusal === null) { q.take(who); readerOpen++; }
          }
        }
        expect(q.roleCount('reader')).toBe(Math.min(perRole, 5 * perToken));
        expect(q.refusal({ id: 'admin', role: 'global-admin' })).toBeNull();
      }
    }
  });

  it('giving back is counted once', () => {
    const q = new StreamQuota({ perToken: 1, perRole: 1 });
    const give = q.take({ id: 'a', role: 'reader' });
    expect(q.refusal({ id: 'a', role: 'reader' })).toMatch(/this admin token already has 1/);
    expect(q.refusal({ id: 'b', role: 'reader' })).toMatch(/for the role reader/);
    give();
    give();
    expect(q.roleCount('reader')).toBe(0);
    expect(q.refusal({ id: 'b', role: 'reader' })).toBeNull();
  });
});
