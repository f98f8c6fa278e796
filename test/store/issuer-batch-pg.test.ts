// One signing batch attacked while it is signed (issuer-batch-race.ts), on a
// real throwaway PostgreSQL cluster: the batch's single UPDATE ... FROM unnest
// must leave the rows changed meanwhile alone, as SQLite's does.
import { afterEach, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../service/store/postgres/open.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { attackOneBatch } from '../service/issuer-batch-race.ts';

describePostgres('EntitlementIssuer batch on PostgreSQL', (cluster) => {
  let db: PostgresDatabase | undefined;
  afterEach(async () => { await db?.close(); });

  it('a batch whose devices are licensed, retired, disabled, forgotten or answered elsewhere while it is signed answers each with its current state and stores no other token', async () => {
    db = await openPostgres(await cluster().createDatabase());
    await attackOneBatch(db);
  });
});
