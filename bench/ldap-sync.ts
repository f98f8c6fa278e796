// Directory-group sync at scale (issue 14): a real slapd (test/helpers/slapd.ts)
// holding 10,000 computer objects in one directory group (9,000 direct
// members and a nested group of 1,000), a service database seeded with the
// 10,000 matching devices (bench/seed-fleet.ts), and the service's own sync
// code (service/directories/) run in this process on the real store: the
// first sync (10,000 members added, seats recomputed, one transaction), a
// sync that changes nothing, and one after 100 computers left the group.
// Baseline, same run: the LDAP read alone (bind, paged search, group
// reads), i.e. what the sync costs beyond talking to the directory.
//   node bench/ldap-sync.ts        (DEVLIC_BENCH_COMPUTERS=10000, DEVLIC_BENCH_DATABASE=sqlite|postgres|both; default sqlite)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, LicensingContext } from '../service/licensing/context.ts';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { createSubscription } from '../service/licensing/subscriptions.ts';
import { assign } from '../service/licensing/assignments.ts';
import { createGroup } from '../service/licensing/groups.ts';
import { addDirectory } from '../service/directories/directories.ts';
import { passwordBox } from '../service/directories/secret.ts';
import { readGroups, syncDirectory } from '../service/directories/sync.ts';
import { placeInDirectoryGroups } from '../service/directories/place.ts';
import { READER_DN, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd } from '../test/helpers/slapd.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchBackends, benchDatabase, openBenchDatabase, stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_COMPUTERS ?? 10_000);
const NESTED = Math.floor(N / 10);
const hosts = Array.from({ length: N }, (_, i) => `host-${i}`);

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

const ldap = await startSlapd([
  ...hosts.map((h) => computerLdif(h, `${h}.corp.example`)),
  groupLdif('All laptops', [...hosts.slice(NESTED).map(computerDn), groupDn('Lab')]),
  groupLdif('Lab', hosts.slice(0, NESTED).map(computerDn), 'groupOfNames'),
].join('\n'));
try {
  console.log(`slapd with ${N} computer objects (${N - NESTED} direct members of 'All laptops', ${NESTED} in the nested group 'Lab')`);
  const login = { url: ldap.url, bindDn: READER_DN, password: ldap.readerPassword, baseDn: SUFFIX };
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = await readGroups(login, [{ id: 'g', dn: groupDn('All laptops') }]);
    console.log(`baseline, LDAP read alone: ${ms(t)}, ${r.queries} LDAP requests, ${r.byGroup.get('g')!.length} computers, ${r.directoryGroups} groups`);
  }
  for (const backend of benchBackends('sqlite')) {
    const dataDir = mkdtempSync(join(tmpdir(), 'devlic-bench-ldap-'));
    const db = await openBenchDatabase(dataDir, await benchDatabase(backend));
    const store = createStore(db);
    try {
      await seedCatalogue(store, new Date().toISOString());
      await seedFleet(db, { devices: N, groups: 10 });
      const ctx = new LicensingContext(store);
      const box = passwordBox(dataDir);
      const dirId = await addDirectory(ctx, box, SYSTEM_ACTOR, { name: 'corp', url: ldap.url, bindDn: READER_DN, password: ldap.readerPassword, baseDn: SUFFIX });
      // Created with the directory down would be empty; here the sync is run by hand below, so create first, then license.
      await createGroup(ctx, SYSTEM_ACTOR, 'All laptops', undefined, undefined, { ref: 'corp', dn: groupDn('All laptops') });
      const sub = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'bench' });
      await assign(ctx, SYSTEM_ACTOR, sub, 'All laptops', true);
      const run = async (what: string) => {
        const row = (await store.directories.byId(dirId))!;
        const t = performance.now();
        const r = await syncDirectory(ctx, box, row, SYSTEM_ACTOR);
        if (!r.ok) throw new Error(r.error!);
        const c = r.counts!;
        console.log(`${backend}: ${what}: ${ms(t)}, ${c.queries} LDAP requests, ${c.computers} computers, ${c.matched} matched, +${c.added} -${c.removed}, ${r.devicesChanged} entitlements changed`);
      };
      await run('first sync');
      await run('sync, nothing changed');
      await ldap.modify(`dn: ${groupDn('All laptops')}\nchangetype: modify\ndelete: member\n${hosts.slice(N - 100).map((h) => `member: ${computerDn(h)}\n`).join('')}`);
      await run('sync after 100 computers left the group');
      // What an enrollment under a hostname of that group adds to its transaction (service/directories/place.ts): the group recomputed from what the sync kept.
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const m = await store.transaction((tx) => placeInDirectoryGroups(tx, new Date().toISOString(), [], [hosts[i]!]));
        console.log(`${backend}: directory groups at an enrollment (hostname in a ${N - 100}-computer group): ${ms(t)}, +${m.added} -${m.removed}`);
      }
      {
        const t = performance.now();
        await store.transaction((tx) => placeInDirectoryGroups(tx, new Date().toISOString(), [], ['not-in-any-group']));
        console.log(`${backend}: directory groups at an enrollment (hostname in no group): ${ms(t)}`);
      }
      await ldap.modify(`dn: ${groupDn('All laptops')}\nchangetype: modify\nadd: member\n${hosts.slice(N - 100).map((h) => `member: ${computerDn(h)}\n`).join('')}`);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await ldap.stop();
  await stopBenchCluster();
}
