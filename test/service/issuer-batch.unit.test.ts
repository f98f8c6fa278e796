// One signing batch attacked while it is signed, on a real SQLite file (see
// issuer-batch-race.ts; PostgreSQL: test/store/issuer-batch-pg.test.ts).
import { afterEach, it } from 'vitest';
import { join } from 'node:path';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { tempDir } from '../helpers/processes.ts';
import { attackOneBatch } from './issuer-batch-race.ts';

let db: SqlDatabase | undefined;
afterEach(async () => { await db?.close(); });

it('a batch whose devices are licensed, retired, disabled, forgotten or answered elsewhere while it is signed answers each with its current state and stores no other token', async () => {
  db = openSqlite(join(tempDir('issuer-batch'), 'devlic.db'));
  await attackOneBatch(db);
});
