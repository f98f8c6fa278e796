// A directory's settings changed in place (`devlic-admin directories update`,
// PATCH /directories/:ref) and its TLS (ldaps://, StartTLS, a CA of its own),
// against a REAL OpenLDAP (test/helpers/slapd.ts) that has a certificate made
// by openssl for this run (test/helpers/tls-certs.ts) and refuses every plain
// operation but StartTLS, so a bind that works proves TLS was used. A new
// password, URL or CA keeps the directory's groups and members; bad settings
// exit 2 and change nothing; an untrusted certificate is refused with a
// clear error and changes nothing; the password appears in no answer, audit
// event, log line or database column. On SQLite and (project integration-pg)
// PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient, runAdminCli } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { openServiceDatabase, TEST_BACKEND } from '../helpers/test-backend.ts';
import { READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { makeTls, type TlsFiles } from '../helpers/tls-certs.ts';

let ldap: Slapd;
let tls: TlsFiles;
let rogue: TlsFiles;
let svc: ServiceProcess;
let admin: AdminClient;
let files: string;
let groupId = '';
const SHARED = groupDn('Shared laptops');

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

const secretFile = (name: string, text: string) => {
  const f = join(files, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
};
const corp = async () => admin.ok('GET', '/directories/corp');
const members = async () => (await admin.ok('GET', `/groups/${groupId}`)).members.map((m: any) => m.name).sort();
const updates = async () => (await admin.ok('GET', '/audit?action=directory.update&limit=500')).items;

const run = !SLAPD_MISSING || SLAPD_REQUIRED;

beforeAll(async () => {
  if (!run) return;
  tls = makeTls('corp');
  rogue = makeTls('rogue');
  ldap = await startSlapd([
    computerLdif('lab-01', 'lab-01.corp.example'), computerLdif('kiosk-7', 'kiosk-7.corp.example'),
    groupLdif('Shared laptops', [computerDn('lab-01'), computerDn('kiosk-7')]),
  ].join('\n'), { tls, requireTls: true });
  svc = await startService({ logLevel: 'info' });
  admin = adminClient(svc.url, svc.adminToken);
  files = tempDir('ldap-settings');
  for (const host of ['lab-01', 'kiosk-7']) {
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
    expect((await new SimDevice(svc.url, fakeFacts(host)).enroll(t.token)).status).toBe(201);
  }
}, 120_000);
afterAll(async () => { await svc?.stop(); await ldap?.stop(); tls?.remove(); rogue?.remove(); });

describe.skipIf(!run)(`directory settings and TLS against a real OpenLDAP (${TEST_BACKEND})`, () => {
  it('adds a directory over ldaps:// trusting the CA from --ca-file; its group fills', async () => {
    const pw = secretFile('pw', `${ldap.readerPassword}\n`);
    const r = await cli(['directories', 'add', 'corp', '--url', ldap.ldapsUrl!, '--bind-dn', READER_DN, '--password-file', pw, '--base-dn', SUFFIX, '--ca-file', tls.caCert]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/TLS:\s+ldaps; trusts CN=corp test CA \(SHA-256 [0-9A-F:]+, until /);
    expect((await corp()).ca).toMatchObject({ subject: 'CN=corp test CA', certificates: 1 });
    const g = await cli(['groups', 'create', 'Shared laptops', '--directory', 'corp', '--dn', SHARED, '--json']);
    expect(g.code, g.err).toBe(0);
    groupId = JSON.parse(g.out).id;
    expect(await members()).toEqual(['kiosk-7', 'lab-01']);
    // A new directory's first periodic sync is due at once (the scheduler looks every 5 s): let it run before the
    // tests that compare the directory before and after, or it lands in between and changes lastSync/nextSyncAt.
    // Claimed: nextSyncAt moved a whole interval on; done: its lastSync is from the claim on.
    await waitFor('the first periodic sync of corp', async () => {
      const c = await corp();
      const claimedAt = Date.parse(c.nextSyncAt) - c.syncSeconds * 1000;
      return claimedAt > Date.now() - 120_000 && c.lastSync !== null && Date.parse(c.lastSync.at) >= claimedAt;
    }, 60_000, 200);
  }, 180_000);

  it('refuses bad settings with exit 2 and changes nothing', async () => {
    const before = await corp();
    const audited = (await updates()).length;
    const empty = secretFile('empty', '');
    const garbage = secretFile('garbage.pem', 'not a certificate\n');
    const cases: [string[], RegExp][] = [
      [[], /nothing to change/],
      [['--url', 'http://x'], /is not ldap:\/\/host\[:port\] or ldaps:\/\/host\[:port\]/],
      [['--sync-every', '1s'], /--sync-every must be between 10s and 24h/],
      [['--password-file', join(files, 'nonexistent')], /cannot read --password-file .*ENOENT/],
      [['--password-file', empty], /is empty/],
      [['--ca-file', tls.serverKey], /holds no PEM certificate/],
      [['--ca-file', garbage], /holds no PEM certificate/],
      [['--ca-file', tls.caCert, '--system-ca'], /--ca-file F or --system-ca, not both/],
      [['--starttls', '--no-starttls'], /--starttls or --no-starttls, not both/],
      // Checked by the service against the stored URL: StartTLS on an ldaps:// connection.
      [['--starttls'], /StartTLS upgrades an ldap:\/\/ connection.*\[DIRECTORY_SETTINGS_INVALID\]/],
      // A CA with plain ldap://: it would never be used.
      [['--url', ldap.url], /a CA certificate is only used over TLS.*\[DIRECTORY_SETTINGS_INVALID\]/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['directories', 'update', 'corp', ...args]);
      expect([r.code, r.err], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
    // A key and a certificate in one file: refused, a private key is never sent or stored.
    const both = secretFile('both.pem', `${readFileSync(tls.caCert, 'utf8')}${readFileSync(tls.serverKey, 'utf8')}`);
    const r = await cli(['directories', 'update', 'corp', '--ca-file', both]);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining('holds something besides PEM certificates (a private key or other text)')]);
    const api = await admin.patch('/directories/corp', { caCert: 'x'.repeat(20) });
    expect([api.status, api.body.error.code]).toEqual([400, 'DIRECTORY_SETTINGS_INVALID']);
    const same = await cli(['directories', 'update', 'corp', '--sync-every', '15m']);
    expect([same.code, same.err]).toEqual([1, expect.stringContaining('already has these settings; nothing was changed [CONFLICT]')]);
    expect((await cli(['directories', 'update', 'nosuch', '--sync-every', '20m'])).code).toBe(1);
    expect(await corp()).toEqual(before);
    expect((await updates()).length).toBe(audited);
  }, 180_000);

  it('refuses a certificate it does not trust with a clear error, and changes nothing', async () => {
    await ldap.modify(`dn: ${SHARED}\nchangetype: modify\ndelete: member\nmember: ${computerDn('kiosk-7')}\n`);
    for (const trust of [['--ca-file', rogue.caCert], ['--system-ca']]) {
      expect((await cli(['directories', 'update', 'corp', ...trust])).code).toBe(0);
      const sync = await cli(['directories', 'sync', 'corp']);
      expect(sync.code, trust.join(' ')).toBe(1);
      expect(sync.err).toMatch(new RegExp(`the directory at ${ldap.ldapsUrl} presented a TLS certificate that is not trusted \\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): .*\\); nothing was sent to it.*nothing was changed \\[DIRECTORY_FAILED\\]`));
      expect(await members()).toEqual(['kiosk-7', 'lab-01']);
      expect((await corp()).lastSync).toMatchObject({ ok: false, error: expect.stringContaining('not trusted') });
      const t = await cli(['directories', 'test', 'corp']);
      expect([t.code, t.err]).toEqual([1, expect.stringContaining('not trusted')]);
    }
    // Its own CA again: the change made in the directory meanwhile applies.
    expect((await cli(['directories', 'update', 'corp', '--ca-file', tls.caCert])).code).toBe(0);
    expect((await cli(['directories', 'sync', 'corp'])).code).toBe(0);
    expect(await members()).toEqual(['lab-01']);
  }, 180_000);

  it('StartTLS: ldap:// upgraded before the bind (the server refuses plain binds); an untrusted certificate there is refused too', async () => {
    await ldap.modify(`dn: ${SHARED}\nchangetype: modify\nadd: member\nmember: ${computerDn('kiosk-7')}\n`);
    const r = await cli(['directories', 'update', 'corp', '--url', ldap.url, '--starttls']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/TLS:\s+StartTLS; trusts CN=corp test CA/);
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    expect(await members()).toEqual(['kiosk-7', 'lab-01']);
    expect((await cli(['directories', 'test', 'corp'])).code).toBe(0);

    await ldap.modify(`dn: ${SHARED}\nchangetype: modify\ndelete: member\nmember: ${computerDn('lab-01')}\n`);
    // Without StartTLS the server refuses the bind (it requires TLS): nothing changes.
    expect((await cli(['directories', 'update', 'corp', '--no-starttls', '--system-ca'])).code).toBe(0);
    const plain = await cli(['directories', 'sync', 'corp']);
    expect([plain.code, plain.err]).toEqual([1, expect.stringMatching(/confidentiality required.*\[DIRECTORY_FAILED\]/i)]);
    // StartTLS with a CA that did not sign the server's certificate: refused before the bind.
    expect((await cli(['directories', 'update', 'corp', '--starttls', '--ca-file', rogue.caCert])).code).toBe(0);
    const untrusted = await cli(['directories', 'sync', 'corp']);
    expect([untrusted.code, untrusted.err]).toEqual([1, expect.stringContaining('presented a TLS certificate that is not trusted')]);
    expect(await members()).toEqual(['kiosk-7', 'lab-01']);
    expect((await cli(['directories', 'update', 'corp', '--ca-file', tls.caCert])).code).toBe(0);
    expect((await cli(['directories', 'sync', 'corp'])).code).toBe(0);
    expect(await members()).toEqual(['kiosk-7']);
  }, 180_000);

  it('changes the password in place: the group and its members stay; audited as changed, never shown or stored in clear', async () => {
    const fresh = `rotated-${Math.random().toString(36).slice(2)}`;
    await ldap.modify(`dn: ${READER_DN}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${fresh}\n`);
    const failed = await cli(['directories', 'sync', 'corp']);
    expect([failed.code, failed.err]).toEqual([1, expect.stringContaining('invalid credentials')]);
    const r = await cli(['directories', 'update', 'corp', '--password-file', secretFile('new-pw', `${fresh}\n`)]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Updated directory 'corp'; its groups and members stay");
    expect((await corp()).groups).toEqual([{ id: groupId, name: 'Shared laptops', dn: SHARED }]);
    expect(await members()).toEqual(['kiosk-7']);
    expect((await cli(['directories', 'sync', 'corp'])).code).toBe(0);
    expect((await corp()).lastSync).toMatchObject({ ok: true, error: null });
    const last = (await updates())[0];
    expect(last.details).toEqual({ name: 'corp', changed: ['password'], before: {}, after: {} });
    const everything = [JSON.stringify(await admin.ok('GET', '/directories')), JSON.stringify(await admin.ok('GET', '/audit?limit=500')), svc.output(), r.out, r.err];
    for (const text of everything) {
      expect(text).not.toContain(fresh);
      expect(text).not.toContain(ldap.readerPassword);
    }
    const db = await openServiceDatabase(svc);
    try {
      const row = await db.get<{ bind_password: string; ca_cert: string }>('SELECT bind_password, ca_cert FROM directories');
      expect(row!.bind_password.startsWith('enc:v1:')).toBe(true);
      expect(row!.bind_password).not.toContain(fresh);
      expect(row!.ca_cert).toContain('-----BEGIN CERTIFICATE-----');
    } finally {
      await db.close();
    }
  }, 180_000);

  it('a shorter interval brings the next sync forward; the URL, bind DN and base DN change in place and are audited before/after', async () => {
    const before = await corp();
    const r = await cli(['directories', 'update', 'corp', '--sync-every', '10s', '--url', ldap.ldapsUrl!, '--no-starttls', '--json']);
    expect(r.code, r.err).toBe(0);
    const after = JSON.parse(r.out);
    expect(after).toMatchObject({ url: ldap.ldapsUrl, startTls: false, syncSeconds: 10, groups: before.groups });
    expect(Date.parse(after.nextSyncAt)).toBeLessThanOrEqual(Date.now() + 10_000);
    expect(Date.parse(after.nextSyncAt)).toBeLessThan(Date.parse(before.nextSyncAt));
    expect((await updates())[0].details).toEqual({
      name: 'corp', changed: ['url', 'syncSeconds', 'startTls'],
      before: { url: ldap.url, syncSeconds: 900, startTls: true }, after: { url: ldap.ldapsUrl, syncSeconds: 10, startTls: false },
    });
    expect((await cli(['directories', 'sync', 'corp'])).code).toBe(0);
    expect(await members()).toEqual(['kiosk-7']);
  }, 180_000);
});
