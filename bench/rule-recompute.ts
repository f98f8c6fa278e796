// Rule recompute after a rule change on a 100,000-device fleet (issue 14's
// aim: at most 1 s). In process, on the store the service uses: a seeded
// fleet (bench/seed-fleet.ts) with agent and OS versions and a tag on every
// tenth device, one rule group licensed with enough seats for its members,
// and its rule switched back and forth between two rules that each match
// about 20,000 devices and share none of their host names, so every change
// moves about 11,000 devices out and 11,000 in (with their seats). Each
// change is what `groups update G --rule EXPR --yes` runs: one transaction
// with the membership recompute, the entitlement recompute and the audit
// event. Timed: the membership recompute alone and the whole change, for the
// code before this benchmark's change (bench/rule-baseline.ts) and the
// current code, interleaved in the same run on the same database.
// Run: node_modules/.bin/node bench/rule-recompute.ts
//   DEVLIC_BENCH_DEVICES (100000), DEVLIC_BENCH_ROUNDS (3 per implementation),
//   DEVLIC_BENCH_DATABASE=sqlite|postgres|both (default sqlite: bench/backend.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Aggregates } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../service/licensing/context.ts';
import { createSubscription } from '../service/licensing/subscriptions.ts';
import { assign } from '../service/licensing/assignments.ts';
import { createGroup } from '../service/licensing/groups.ts';
import { syncRuleMembership } from '../service/licensing/rule-membership.ts';
import { tempDir } from '../test/helpers/processes.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchBackends, benchDatabase, openBenchDatabase, stopBenchCluster } from './backend.ts';
import { baselineSyncRuleMembership } from './rule-baseline.ts';

const N = Number(process.env.DEVLIC_BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 3);
// Host names host-0 ... host-99999: "host-1*" and "host-2*" match 11,111 each; the os and tag parts make the
// evaluator read the enrollment facts (JSON) and the tags, as real rules do.
const RULES = [
  '(hostname like "host-1*" and os == "linux") or tags == "lab"',
  '(hostname like "host-2*" and os in ["Linux", "Debian"]) or tags == "lab"',
];
type Impl = (q: Aggregates, at: string, only: { groupId?: string }) => Promise<{ added: number; removed: number }>;
const IMPLS: [string, Impl][] = [['before (baseline)', baselineSyncRuleMembership], ['current', syncRuleMembership]];

/** This process's CPU time in ms: on SQLite the database works in this process too, so it is the whole cost, whatever else the machine runs. */
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const backend of benchBackends('sqlite')) {
  const dataDir = join(tempDir('rule-bench'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await openBenchDatabase(dataDir, await benchDatabase(backend));
  const store = createStore(db);
  const now = new Date().toISOString();
  await seedCatalogue(store, now);
  let t = performance.now();
  await seedFleet(db, { devices: N, groups: 1000 });
  await db.run("UPDATE devices SET agent_version = '1.4.0', os_version = '12 (bookworm)'");
  await db.run("INSERT INTO device_tags (device_id, tag, added_at) SELECT id, 'lab', ? FROM devices WHERE id LIKE '%7'", [now]);
  if (backend === 'postgres') await db.run('ANALYZE');
  console.log(`${backend}: seeded ${N} devices in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const ctx = new LicensingContext(store);
  const group = await createGroup(ctx, SYSTEM_ACTOR, 'Rule bench', undefined, RULES[0]);
  const sub = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 30_000, name: 'Rule bench seats' });
  await assign(ctx, SYSTEM_ACTOR, sub, group, true);

  const times = new Map<string, { membership: number[]; total: number[]; membershipCpu: number[]; totalCpu: number[]; moved: string }>(
    IMPLS.map(([n]) => [n, { membership: [], total: [], membershipCpu: [], totalCpu: [], moved: '' }]));
  let next = 1;
  // Interleaved: before, current, current, before, ... so both see the same database state and machine load;
  // after one untimed change by each (the first run of any code path pays for its compilation).
  const order = Array.from({ length: ROUNDS * 2 }, (_, i) => IMPLS[(i % 4 === 0 || i % 4 === 3) ? 0 : 1]!);
  for (const [name, impl] of [...IMPLS, ...order].map((x, i) => [i < IMPLS.length ? 'warm-up' : x[0], x[1]] as const)) {
    const rule = RULES[next]!;
    next = 1 - next;
    let membershipMs = 0;
    let membershipCpu = 0;
    let moved = { added: 0, removed: 0 };
    t = performance.now();
    const c0 = cpuMs();
    await ctx.mutate(SYSTEM_ACTOR, async (tx) => {
      await tx.rules.setRule(group, rule);
      const m = performance.now();
      const mc = cpuMs();
      moved = await impl(tx, ctx.nowIso(), { groupId: group });
      membershipMs = performance.now() - m;
      membershipCpu = cpuMs() - mc;
      return { result: group, action: 'group.set-rule', target: group, details: { after: { rule }, ...moved } };
    }, { confirm: true });
    const total = performance.now() - t;
    const totalCpu = cpuMs() - c0;
    if (name === 'warm-up') continue;
    const row = times.get(name)!;
    row.membership.push(membershipMs);
    row.total.push(total);
    row.membershipCpu.push(membershipCpu);
    row.totalCpu.push(totalCpu);
    row.moved = `+${moved.added} -${moved.removed}`;
    console.log(`${backend} ${name.padEnd(18)} membership ${membershipMs.toFixed(0).padStart(5)} ms (CPU ${membershipCpu.toFixed(0).padStart(5)}), whole change ${total.toFixed(0).padStart(5)} ms (CPU ${totalCpu.toFixed(0).padStart(5)}) (${row.moved})`);
  }
  for (const [name, r] of times) {
    console.log(`${backend} ${name.padEnd(18)} median of ${r.total.length}: membership ${median(r.membership).toFixed(0)} ms (CPU ${median(r.membershipCpu).toFixed(0)}), whole change ${median(r.total).toFixed(0)} ms (CPU ${median(r.totalCpu).toFixed(0)})`);
  }
  await db.close();
}
await stopBenchCluster();
