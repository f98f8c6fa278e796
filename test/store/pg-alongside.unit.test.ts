// Which statements count as writes for alongside reads, and when the reads
// must stay on the transaction (store/postgres/alongside.ts): a table named
// as a whole word, in any statement but a plain SELECT, or a savepoint.
import { expect, it } from 'vitest';
import { mayWrite, mustReadOnTransaction } from '../../service/store/postgres/alongside.ts';

it('anything but a plain SELECT may write', () => {
  expect(mayWrite('SELECT 1')).toBe(false);
  expect(mayWrite('  select id FROM devices')).toBe(false);
  expect(mayWrite("SELECT set_config('enable_sort', 'off', true)")).toBe(false);
  for (const sql of ['INSERT INTO devices (id) VALUES (?)', 'UPDATE device_entitlements SET seq = seq + 1', 'DELETE FROM group_members',
    'WITH x AS (DELETE FROM devices RETURNING id) SELECT * FROM x', 'SAVEPOINT a', 'selectx', 'TRUNCATE devices']) {
    expect(mayWrite(sql), sql).toBe(true);
  }
});

it('a table read named by a write keeps the reads on the transaction; other tables and longer names do not', () => {
  const tables = ['group_members', 'devices'];
  expect(mustReadOnTransaction([], tables)).toBe(false);
  expect(mustReadOnTransaction(['INSERT INTO audit_log (at) VALUES (?)', 'UPDATE device_entitlements SET seq = 1',
    'INSERT INTO user_group_members (g, u) VALUES (?, ?)', 'UPDATE devices_enrolled_x SET a = 1'], tables)).toBe(false);
  expect(mustReadOnTransaction(['DELETE FROM group_members WHERE group_id = ?'], tables)).toBe(true);
  expect(mustReadOnTransaction(['update DEVICES set disabled = 1'], tables)).toBe(true);
  expect(mustReadOnTransaction(['INSERT INTO x SELECT id FROM devices'], tables)).toBe(true); // conservative: read in a write
  expect(mustReadOnTransaction(['SAVEPOINT s1'], ['t'])).toBe(true);
});
