// Directory groups' pure parts: hostname matching (dNSHostName, its first
// label, cn; duplicates taken by nobody), DN normalisation, the nested-group
// walk (cycles, dangling members, computers known in bulk), the sealed bind
// password, and devlic-admin's directory arguments.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostKey, indexDevices, keysOf, matchComputers, normDn, type Computer } from '../../service/directories/match.ts';
import { walkGroup, type DirEntry } from '../../service/directories/walk.ts';
import { openWith, sealWith } from '../../service/directories/secret.ts';
import { parseLdapUrl, parseSyncEvery, readPasswordFile } from '../../service/admin-cli/directory-commands.ts';
import { findCommand } from '../../service/admin-cli/commands.ts';

const pc = (cn: string | null, dns: string | null, dn = `CN=${cn},OU=PCs,DC=x`): Computer => ({ dn, cn, dnsHostName: dns });

describe('matching computer objects to devices', () => {
  const devices = [
    { id: 'd1', hostname: 'LAB-01' }, { id: 'd2', hostname: 'lab-02.corp.example' }, { id: 'd3', hostname: 'kiosk' },
    { id: 'd4', hostname: 'twin' }, { id: 'd5', hostname: 'TWIN' }, { id: 'd6', hostname: null }, { id: 'd7', hostname: 'office-9.' },
  ];
  const byHost = indexDevices(devices);

  it('tries dNSHostName, then its first label, then cn, ignoring case and a trailing dot', () => {
    expect(keysOf(pc('LAB-01', 'lab-01.corp.example'))).toEqual(['lab-01.corp.example', 'lab-01']);
    expect(keysOf(pc('K', null))).toEqual(['k']);
    expect(keysOf(pc(null, 'Host.'))).toEqual(['host']);
    expect(hostKey(' Office-9. ')).toBe('office-9');
    const m = matchComputers([
      pc('X1', 'lab-01.corp.example'), // first label
      pc('X2', 'LAB-02.corp.example.'), // full dNSHostName
      pc('kiosk', null), // cn
      pc('office-9', 'elsewhere.example'), // dNSHostName matches nothing: cn is tried
      pc('nobody', 'nobody.corp.example'),
    ], byHost);
    expect([...m.devices].sort()).toEqual(['d1', 'd2', 'd3', 'd7']);
    expect(m.unmatched).toEqual(['CN=nobody,OU=PCs,DC=x']);
    expect(m.ambiguous).toEqual([]);
  });

  it('gives a hostname two devices report to neither of them, and says so', () => {
    const m = matchComputers([pc('twin', 'twin.corp.example'), pc('kiosk', null)], byHost);
    expect([...m.devices]).toEqual(['d3']);
    expect(m.ambiguous).toEqual([{ dn: 'CN=twin,OU=PCs,DC=x', hostname: 'twin', devices: ['d4', 'd5'] }]);
  });

  it('prefers the more specific key: a full dNSHostName match wins over a cn that names another device', () => {
    const m = matchComputers([pc('kiosk', 'lab-02.corp.example')], byHost);
    expect([...m.devices]).toEqual(['d2']);
  });

  it('compares DNs regardless of case and spaces around separators, keeping escapes', () => {
    expect(normDn('CN=Lab 1, OU=PCs ,DC=Example')).toBe('cn=lab 1,ou=pcs,dc=example');
    expect(normDn('cn=a\\, b,dc=x')).toBe('cn=a\\, b,dc=x');
  });
});

describe('walking a directory group', () => {
  const dir = new Map<string, DirEntry>([
    ['cn=root', { kind: 'group', members: ['CN=pc1', 'cn=inner', 'cn=user', 'cn=gone', 'cn=pc2'] }],
    ['cn=inner', { kind: 'group', members: ['cn=pc3', 'CN=Root', 'cn=inner2'] }],
    ['cn=inner2', { kind: 'group', members: ['cn=inner', 'cn=pc1'] }],
    ['cn=pc1', { kind: 'computer', computer: pc('pc1', null, 'cn=pc1') }],
    ['cn=pc3', { kind: 'computer', computer: pc('pc3', null, 'cn=pc3') }],
    ['cn=user', { kind: 'other' }],
  ]);
  const reads: string[] = [];
  const read = async (dn: string) => { reads.push(normDn(dn)); return dir.get(normDn(dn)) ?? null; };

  it('follows nested groups through a cycle, reads each DN once, uses computers known in bulk', async () => {
    const known = new Map([['cn=pc2', pc('pc2', null, 'cn=pc2')]]);
    const w = await walkGroup('cn=root', known, read);
    expect(w.computers.map((c) => c.cn).sort()).toEqual(['pc1', 'pc2', 'pc3']);
    expect(w.groups).toBe(3);
    expect(w.dangling).toBe(1);
    expect(reads.sort()).toEqual(['cn=gone', 'cn=inner', 'cn=inner2', 'cn=pc1', 'cn=pc3', 'cn=root', 'cn=user']);
  });

  it('refuses a root that is missing or not a group', async () => {
    await expect(walkGroup('cn=nope', new Map(), read)).rejects.toMatchObject({ code: 'DIRECTORY_FAILED', message: "the directory has no entry 'cn=nope'" });
    await expect(walkGroup('cn=user', new Map(), read)).rejects.toMatchObject({ code: 'DIRECTORY_FAILED' });
  });
});

describe('the bind password at rest', () => {
  it('is sealed (not readable), opens with the same key and directory only', () => {
    const key = randomBytes(32);
    const sealed = sealWith(key, 'dir_a', 'Pa55word!');
    expect(sealed).not.toContain('Pa55word');
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(openWith(key, 'dir_a', sealed)).toBe('Pa55word!');
    expect(() => openWith(key, 'dir_b', sealed)).toThrow(/cannot be opened/);
    expect(() => openWith(randomBytes(32), 'dir_a', sealed)).toThrow(/cannot be opened/);
    expect(() => openWith(key, 'dir_a', 'plain')).toThrow(/damaged/);
  });
});

describe('devlic-admin directories arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devlic-dir-args-'));
  const file = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };

  it('reads the password file without its final line break; refuses empty, multi-line or missing files', () => {
    expect(readPasswordFile(file('p1', 's3cret\n'))).toBe('s3cret');
    expect(readPasswordFile(file('p2', 'with space \r\n'))).toBe('with space ');
    expect(() => readPasswordFile(file('p3', '\n'))).toThrow(/is empty/);
    expect(() => readPasswordFile(file('p4', 'a\nb\n'))).toThrow(/more than one line/);
    expect(() => readPasswordFile(join(dir, 'none'))).toThrow(/cannot read --password-file .*ENOENT/);
  });

  it('checks the URL and the sync interval', () => {
    expect(parseLdapUrl('ldaps://dc1.corp.example:636')).toBe('ldaps://dc1.corp.example:636');
    expect(() => parseLdapUrl('http://x')).toThrow(/not ldap/);
    expect(() => parseLdapUrl('ldap://x/dc=a')).toThrow(/not ldap/);
    expect(parseSyncEvery('15m')).toBe(900);
    expect(() => parseSyncEvery('5s')).toThrow(/between 10s and 24h/);
    expect(() => parseSyncEvery('2d')).toThrow(/between 10s and 24h/);
  });

  it('builds the add request with the password in the body only, and refuses a half directory group', () => {
    const add = findCommand('directories', 'add')!;
    const pw = file('pw', 'TopSecret\n');
    const req = add.build({ positionals: ['corp'], values: { url: 'ldap://dc1:389', 'bind-dn': 'CN=svc,DC=x', 'password-file': pw, 'base-dn': 'DC=x', 'sync-every': '30m' } });
    expect(req).toEqual({ method: 'POST', path: '/v1/admin/directories', body: { name: 'corp', url: 'ldap://dc1:389', bindDn: 'CN=svc,DC=x', password: 'TopSecret', baseDn: 'DC=x', syncSeconds: 1800 } });
    expect(() => add.build({ positionals: ['corp'], values: { url: 'ldap://dc1', 'bind-dn': 'x', 'base-dn': 'y' } })).toThrow(/missing --password-file/);
    const create = findCommand('groups', 'create')!;
    expect(() => create.build({ positionals: ['G'], values: { directory: 'corp' } })).toThrow(/both --directory DIR and --dn DN/);
    expect(() => create.build({ positionals: ['G'], values: { directory: 'corp', dn: 'CN=a', rule: 'os == "x"' } })).toThrow(/not both/);
    expect(create.build({ positionals: ['G'], values: { directory: 'corp', dn: 'CN=Shared laptops,OU=x' } }).body).toEqual({ name: 'G', directory: 'corp', dn: 'CN=Shared laptops,OU=x' });
  });
});
