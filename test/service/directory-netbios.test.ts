// `devlic-admin directories test` against Active Directory proposes the
// sign-in domain aliases the forest needs (NETBIOS\user reported by devices,
// user@dns listed in user groups), read from the crossRefs under
// CN=Partitions of the configuration naming context its root DSE names. A
// REAL OpenLDAP (test/helpers/slapd.ts) made to look like AD there: AD's
// crossRef class and nETBIOSName/dnsRoot attributes, the root DSE naming a
// configuration NC. Proposed only: the test adds no alias. A directory that
// is not AD proposes nothing. On SQLite and (integration-pg) PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';
import { TEST_BACKEND } from '../helpers/test-backend.ts';
import { READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerLdif, startSlapd, type Slapd } from '../helpers/slapd.ts';

let ad: Slapd;
let plain: Slapd;
let svc: ServiceProcess;
let admin: AdminClient;

const run = !SLAPD_MISSING || SLAPD_REQUIRED;

beforeAll(async () => {
  if (!run) return;
  [ad, plain, svc] = await Promise.all([
    startSlapd(computerLdif('lab-01', 'lab-01.corp.example.com'), { partitions: [{ netbios: 'CORP', dns: 'corp.example.com' }, { netbios: 'LAB', dns: 'lab.corp.example.com' }] }),
    startSlapd(computerLdif('lab-02')),
    startService(),
  ]);
  admin = adminClient(svc.url, svc.adminToken);
  for (const [name, l] of [['corp', ad], ['openldap', plain]] as const) {
    await admin.ok('POST', '/directories', { name, url: l.url, bindDn: READER_DN, password: l.readerPassword, baseDn: SUFFIX, syncSeconds: 86_400 });
  }
}, 120_000);
afterAll(async () => { await svc?.stop(); await ad?.stop(); await plain?.stop(); });

describe.skipIf(!run)(`directories test proposes sign-in domain aliases from Active Directory (${TEST_BACKEND})`, () => {
  it('lists the forest\'s NetBIOS domains, each without an alias yet, and adds none', async () => {
    const t = await admin.ok('POST', '/directories/corp/test', {});
    expect(t).toMatchObject({ ok: true, computers: 1 });
    expect(t.netbiosDomains).toEqual([
      { netbios: 'corp', dns: 'corp.example.com', alias: 'missing' },
      { netbios: 'lab', dns: 'lab.corp.example.com', alias: 'missing' },
    ]);
    expect((await admin.ok('GET', '/sign-in-domains')).items).toEqual([]);
  });

  it('tells an alias in force from a missing one and from one that names another DNS domain', async () => {
    await admin.ok('POST', '/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' });
    await admin.ok('POST', '/sign-in-domains', { netbios: 'LAB', dns: 'old-lab.example.com' });
    const t = await admin.ok('POST', '/directories/corp/test', {});
    expect(t.netbiosDomains).toEqual([
      { netbios: 'corp', dns: 'corp.example.com', alias: 'set' },
      { netbios: 'lab', dns: 'lab.corp.example.com', alias: 'other', current: 'old-lab.example.com' },
    ]);
  });

  it('devlic-admin prints the command for a missing alias, and runs nothing', async () => {
    await admin.ok('POST', '/sign-in-domains/CORP/remove', { confirm: true });
    const r = await runAdminCli(svc, ['directories', 'test', 'corp']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/corp\s+corp\.example\.com\s+MISSING/);
    expect(r.out).toMatch(/lab\s+lab\.corp\.example\.com\s+stands for old-lab\.example\.com instead/);
    expect(r.out).toContain('  devlic-admin sign-in-domains add corp corp.example.com\n');
    expect(r.out).not.toContain('sign-in-domains add lab');
    expect((await admin.ok('GET', '/sign-in-domains')).items.map((x: any) => x.netbios)).toEqual(['lab']);
  });

  it('a directory that is not Active Directory proposes nothing', async () => {
    const t = await admin.ok('POST', '/directories/openldap/test', {});
    expect(t).toMatchObject({ ok: true, computers: 1 });
    expect(t.netbiosDomains).toBeUndefined();
    const r = await runAdminCli(svc, ['directories', 'test', 'openldap']);
    expect(r.out).not.toContain('NetBIOS');
  });
});
