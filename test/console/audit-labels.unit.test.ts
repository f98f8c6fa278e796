// The audit page must read as words for every change the service records: each
// action the service writes has a label and an area in the console's "What"
// filter, and a directory named in an event shows by its name, also after the
// directory was removed (the removing event records it).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import { createStore } from '../../service/store/store.ts';
import { listAudit } from '../../service/licensing/audit-view.ts';
import { tempDir } from '../helpers/processes.ts';

const dir = tempDir('audit-labels');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// audit.js imports reasons.js, which the server generates when it serves the
// console, so the page's tables are read from its source text.
const AUDIT_JS = readFileSync(join(import.meta.dirname, '../../service/console/js/audit.js'), 'utf8');
const ACTIONS = new Set([...AUDIT_JS.matchAll(/^ {2}'([a-z-]+\.[a-z-]+)': '[^']+',$/gm)].map((m) => m[1]!));
const AREAS = [...AUDIT_JS.matchAll(/\['([a-z-]+\.)', '[A-Z][^']+'\]/g)].map((m) => m[1]!);

/** Every `action: 'x.y'` literal in the service's sources. */
function writtenActions(): string[] {
  const out = new Set<string>();
  const root = join(import.meta.dirname, '../../service');
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(/action: '([a-z-]+\.[a-z-]+)'/g)) out.add(m[1]!);
  }
  return [...out].sort();
}

it('labels every audit action the service writes and files it under an area', () => {
  const actions = writtenActions();
  expect(actions.length).toBeGreaterThan(30); // the scan found the service's writers
  expect(actions).toContain('directory.sync');
  const unlabelled = actions.filter((a) => !ACTIONS.has(a));
  expect(unlabelled).toEqual([]);
  const noArea = actions.filter((a) => !AREAS.some((prefix) => a.startsWith(prefix)));
  expect(noArea).toEqual([]);
});

it('names a directory in its events, and still after it was removed', async () => {
  const db = createStore(openSqlite(join(dir, 'devlic.db')));
  const at = '2026-12-03T09:00:00.000Z';
  await db.directories.insert({
    id: 'dir_corp1', name: 'Corp AD', url: 'ldap://127.0.0.1:1', bindDn: 'cn=reader', sealedPassword: 'sealed', baseDn: 'dc=corp',
    syncSeconds: 900, at, caCert: null, startTls: false,
  });
  const actor = { actorId: 'adm_x', actorName: 'alice' };
  await db.audit.insert({ at, ...actor, action: 'directory.sync', target: 'dir_corp1', details: { devicesAdded: 3 } });
  let page = await listAudit(db, {});
  expect(page.items[0]!.targetName).toBe('Corp AD');

  await db.directories.delete('dir_corp1');
  page = await listAudit(db, {});
  expect(page.items[0]!.targetName).toBeNull(); // gone, and nothing recorded its name yet
  await db.audit.insert({ at, ...actor, action: 'directory.remove', target: 'dir_corp1', details: { name: 'Corp AD', url: 'ldap://127.0.0.1:1' } });
  page = await listAudit(db, {});
  expect(page.items.map((e) => [e.action, e.targetName])).toEqual([['directory.remove', 'Corp AD'], ['directory.sync', 'Corp AD']]);
  await db.close();
});
