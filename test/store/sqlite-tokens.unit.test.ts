// SQLite's side of the issuer's batched statements: storeTokens as one
// UPDATE ... FROM json_each per batch (outside a transaction, as the issuer
// stores) and the batched reads issuableMany, signedSeqMany, against the
// per-row reference of token-store-check.ts (PostgreSQL's run is in pg-bulk.test.ts).
import { afterEach, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { checkTokenStore, seedTokenFixture } from './token-store-check.ts';

const dirs: string[] = [];
const dbs: SqlDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fresh(n: number): Promise<SqlDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'devlic-sqlite-tokens-'));
  dirs.push(dir);
  const db = openSqlite(join(dir, 'devlic.db'));
  dbs.push(db);
  await seedTokenFixture(db, n);
  return db;
}

it('storeTokens and the batched reads of a wake do what the per-row reference does, races included', async () => {
  await checkTokenStore(fresh, false);
});
