// Unit tests of devlic-admin's pure parts: the table formatter and times, the
// argv → API request mapping with its usage errors, and the human output of
// the commands. A few process-level checks run the real entry point for the
// exit-code contract (2 usage, 1 failure, 0 help) without a licensing service.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import type { Admin, DeviceView, EnrollToken, Product, UnassignResult } from '../../shared/schemas/admin.ts';
import { parseInvocation, type Env } from '../../service/admin-cli/args.ts';
import { COMMANDS, parseTermEnd, seg } from '../../service/admin-cli/commands.ts';
import { hintFor } from '../../service/admin-cli/client.ts';
import {
  renderAdminCreated, renderDevice, renderDevices, renderEnrollTokenCreated, renderMerged, renderProducts, renderUnassigned,
} from '../../service/admin-cli/render.ts';
import { formatKeyValue, formatRelative, formatTable, formatTime, sanitize, truncate } from '../../service/admin-cli/table.ts';

const ENV: Env = { DEVLIC_ADMIN_TOKEN: 'tok-env' };
const NOW = new Date('2026-05-01T12:00:00Z');

function call(argv: string[], env: Env = ENV) {
  const inv = parseInvocation(argv, env);
  if (inv.kind !== 'call') throw new Error(`expected a call, got help for ${argv.join(' ')}`);
  return inv;
}

function req(line: string) {
  return call(line.split(' ')).request;
}

function usageError(argv: string[], env: Env = ENV): string {
  try {
    parseInvocation(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`no usage error for: ${argv.join(' ')}`);
}

describe('table formatting', () => {
  it('aligns columns, right-aligns numbers and leaves no trailing spaces', () => {
    const out = formatTable(['SKU', 'TOTAL', 'NAME'], [['A', 5, 'x'], ['LONGER', 120, 'yy']], ['left', 'right']);
    expect(out).toBe(
      'SKU     TOTAL  NAME\n' +
      'A           5  x\n' +
      'LONGER    120  yy\n',
    );
    for (const line of out.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('prints null cells as "-" and a header alone for no rows', () => {
    expect(formatTable(['A', 'B'], [[null, undefined]])).toBe('A  B\n-  -\n');
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME\n');
  });

  it('neutralises control characters from device-supplied names', () => {
    expect(sanitize('pc\u001b[31m\nx\u009b')).toBe('pc?[31m?x?');
    const out = formatTable(['NAME'], [['evil\r\nrow']]);
    expect(out.split('\n')).toHaveLength(3);
  });

  it('truncates with an ellipsis, counting code points', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('ééééé', 3)).toBe('éé…');
  });

  it('formats key/value blocks aligned on the longest label', () => {
    expect(formatKeyValue([['ID', 'x'], ['Created', null]])).toBe('ID:       x\nCreated:  -\n');
  });
});

describe('times', () => {
  it('shows past times relative to now', () => {
    expect(formatRelative('2026-05-01T11:59:48Z', NOW)).toBe('12s ago');
    expect(formatRelative('2026-05-01T11:55:00Z', NOW)).toBe('5m ago');
    expect(formatRelative('2026-05-01T09:00:00Z', NOW)).toBe('3h ago');
    expect(formatRelative('2026-04-28T12:00:00Z', NOW)).toBe('3d ago');
    expect(formatRelative('2026-05-01T12:00:00Z', NOW)).toBe('0s ago');
  });

  it('shows future times as "in …", null as "never" and garbage as it is', () => {
    expect(formatRelative('2026-05-08T12:00:00Z', NOW)).toBe('in 7d');
    expect(formatRelative(null, NOW)).toBe('never');
    expect(formatRelative('not a date', NOW)).toBe('not a date');
  });

  it('formats absolute times in UTC', () => {
    expect(formatTime('2026-05-01T14:03:59.999+02:00')).toBe('2026-05-01 12:03 UTC');
    expect(formatTime(null)).toBe('-');
  });

  it('parses --term-end dates and date-times', () => {
    expect(parseTermEnd('2027-06-30')).toBe('2027-06-30T23:59:59.000Z');
    expect(parseTermEnd('2027-06-30T12:00:00+02:00')).toBe('2027-06-30T10:00:00.000Z');
    expect(() => parseTermEnd('2027-02-30')).toThrow(UsageError);
    expect(() => parseTermEnd('30/06/2027')).toThrow(UsageError);
    expect(() => parseTermEnd('2027-06-30T12:00:00')).toThrow(/--term-end/);
  });
});

describe('argv → request mapping', () => {
  // devlic-admin reads the bind password from this file on the admin's side.
  const pwFile = resolve(mkdtempSync(resolve(tmpdir(), 'devlic-cli-pw-')), 'pw');
  writeFileSync(pwFile, 'bind-secret\n', { mode: 0o600 });
  const caFile = resolve(import.meta.dirname, '../fixtures/tls/ca-a.pem');
  const caPem = readFileSync(caFile, 'utf8');
  const cases: Array<[string, string, string, unknown?]> = [
    ['products list', 'GET', '/v1/admin/products'],
    ['subscriptions list', 'GET', '/v1/admin/subscriptions'],
    ['subscriptions add --product M365-DEV --seats 20', 'POST', '/v1/admin/subscriptions', { product: 'M365-DEV', seats: 20 }],
    ['subscriptions add --product P --seats 0 --name EA --term-end 2027-01-31', 'POST', '/v1/admin/subscriptions',
      { product: 'P', seats: 0, name: 'EA', termEnd: '2027-01-31T23:59:59.000Z' }],
    ['subscriptions show sub_1', 'GET', '/v1/admin/subscriptions/sub_1'],
    ['subscriptions update EA --seats 25 --status suspended', 'PATCH', '/v1/admin/subscriptions/EA', { seats: 25, status: 'suspended' }],
    ['subscriptions update EA --term-end none', 'PATCH', '/v1/admin/subscriptions/EA', { termEnd: null }],
    ['groups list', 'GET', '/v1/admin/groups'],
    ['groups show Lab', 'GET', '/v1/admin/groups/Lab'],
    ['groups create Lab', 'POST', '/v1/admin/groups', { name: 'Lab' }],
    ['groups create Carts --parent Lab', 'POST', '/v1/admin/groups', { name: 'Carts', parent: 'Lab' }],
    ['groups create Win --rule os=="Windows"', 'POST', '/v1/admin/groups', { name: 'Win', rule: 'os=="Windows"' }],
    ['groups update Win --rule tags=="lab"', 'POST', '/v1/admin/groups/Win/rule', { rule: 'tags=="lab"' }],
    ['groups update Win --no-rule', 'POST', '/v1/admin/groups/Win/rule', { rule: null }],
    ['groups preview --rule hostname=="a"', 'POST', '/v1/admin/groups/preview', { rule: 'hostname=="a"' }],
    ['devices tag pc1 lab Floor-2', 'POST', '/v1/admin/devices/pc1/tags', { tags: ['lab', 'Floor-2'] }],
    ['devices untag pc1 lab', 'POST', '/v1/admin/devices/pc1/tags/remove', { tags: ['lab'] }],
    ['groups add-devices Lab dev_1 laptop-02', 'POST', '/v1/admin/groups/Lab/devices', { devices: ['dev_1', 'laptop-02'] }],
    ['groups remove-devices Lab dev_1', 'POST', '/v1/admin/groups/Lab/devices/remove', { devices: ['dev_1'] }],
    ['groups nest Lab Carts', 'POST', '/v1/admin/groups/Lab/children', { group: 'Carts' }],
    ['groups unnest Lab Carts', 'POST', '/v1/admin/groups/Lab/children/remove', { group: 'Carts' }],
    ['licenses list', 'GET', '/v1/admin/licenses'],
    ['licenses assign --subscription EA --group Lab', 'POST', '/v1/admin/licenses/assign', { subscription: 'EA', group: 'Lab' }],
    ['licenses unassign --group Lab --subscription EA', 'POST', '/v1/admin/licenses/unassign', { subscription: 'EA', group: 'Lab' }],
    ['licenses list-users', 'GET', '/v1/admin/user-licenses'],
    ['licenses assign --subscription U --user-group Teachers', 'POST', '/v1/admin/user-licenses/assign', { subscription: 'U', userGroup: 'Teachers' }],
    ['licenses unassign --user-group Teachers --subscription U', 'POST', '/v1/admin/user-licenses/unassign', { subscription: 'U', userGroup: 'Teachers' }],
    ['user-groups list', 'GET', '/v1/admin/user-groups'],
    ['user-groups show Teachers', 'GET', '/v1/admin/user-groups/Teachers'],
    ['user-groups create Teachers', 'POST', '/v1/admin/user-groups', { name: 'Teachers' }],
    ['user-groups add-users Teachers alice CONTOSO\\bob', 'POST', '/v1/admin/user-groups/Teachers/users', { users: ['alice', 'CONTOSO\\bob'] }],
    ['user-groups remove-users Teachers alice', 'POST', '/v1/admin/user-groups/Teachers/users/remove', { users: ['alice'] }],
    ['user-groups remove-users Teachers alice --yes', 'POST', '/v1/admin/user-groups/Teachers/users/remove', { users: ['alice'], confirm: true }],
    ['licenses unassign --user-group Teachers --subscription U --yes', 'POST', '/v1/admin/user-licenses/unassign', { subscription: 'U', userGroup: 'Teachers', confirm: true }],
    ['user-groups create Staff --directory corp --dn CN=Staff,DC=corp', 'POST', '/v1/admin/user-groups', { name: 'Staff', directory: 'corp', dn: 'CN=Staff,DC=corp' }],
    ['devices list', 'GET', '/v1/admin/devices'],
    ['devices list --licensed', 'GET', '/v1/admin/devices?licensed=true'],
    ['devices list --unlicensed --search lap --limit 50 --offset 100', 'GET', '/v1/admin/devices?licensed=false&q=lap&limit=50&offset=100'],
    ['devices list --licensed --limit 50 --after WyJhIiwiYiJd', 'GET', '/v1/admin/devices?licensed=true&limit=50&after=WyJhIiwiYiJd'],
    ['devices show dev_1', 'GET', '/v1/admin/devices/dev_1'],
    ['devices disable dev_1', 'PATCH', '/v1/admin/devices/dev_1', { disabled: true }],
    ['devices enable dev_1', 'PATCH', '/v1/admin/devices/dev_1', { disabled: false }],
    ['devices merge dev_new laptop-02', 'POST', '/v1/admin/devices/laptop-02/merge', { from: 'dev_new' }],
    ['devices merge dev_new laptop-02 --force', 'POST', '/v1/admin/devices/laptop-02/merge', { from: 'dev_new', force: true }],
    ['enroll-tokens list', 'GET', '/v1/admin/enroll-tokens'],
    ['enroll-tokens create', 'POST', '/v1/admin/enroll-tokens', {}],
    ['enroll-tokens create --expires 7d --uses 20 --group Lab', 'POST', '/v1/admin/enroll-tokens', { expiresInSeconds: 604800, uses: 20, group: 'Lab' }],
    ['admins list', 'GET', '/v1/admin/admins'],
    ['admins create --role reader', 'POST', '/v1/admin/admins', { role: 'reader' }],
    ['admins create --role global-admin --name ops', 'POST', '/v1/admin/admins', { role: 'global-admin', name: 'ops' }],
    ['admins revoke ops', 'POST', '/v1/admin/admins/ops/revoke', {}],
    ['enroll-tokens revoke enr_1', 'POST', '/v1/admin/enroll-tokens/enr_1/revoke', {}],
    ['devices retire dev_1 --yes', 'POST', '/v1/admin/devices/dev_1/retire', { confirm: true }],
    ['devices restore dev_1', 'POST', '/v1/admin/devices/dev_1/restore', {}],
    ['devices delete dev_1', 'DELETE', '/v1/admin/devices/dev_1'],
    ['groups rename Lab Lab2', 'PATCH', '/v1/admin/groups/Lab', { name: 'Lab2' }],
    ['groups delete Lab', 'DELETE', '/v1/admin/groups/Lab'],
    ['audit list', 'GET', '/v1/admin/audit'],
    ['audit list --limit 10', 'GET', '/v1/admin/audit?limit=10'],
    ['whoami', 'GET', '/v1/admin/whoami'],
    ['directories list', 'GET', '/v1/admin/directories'],
    [`directories add corp --url ldaps://dc1:636 --bind-dn cn=r,dc=x --password-file ${pwFile} --base-dn dc=x --sync-every 1h`, 'POST', '/v1/admin/directories',
      { name: 'corp', url: 'ldaps://dc1:636', bindDn: 'cn=r,dc=x', password: 'bind-secret', baseDn: 'dc=x', syncSeconds: 3600 }],
    [`directories add corp --url ldap://dc1 --bind-dn cn=r,dc=x --password-file ${pwFile} --base-dn dc=x --starttls --ca-file ${caFile}`, 'POST', '/v1/admin/directories',
      { name: 'corp', url: 'ldap://dc1', bindDn: 'cn=r,dc=x', password: 'bind-secret', baseDn: 'dc=x', startTls: true, caCert: caPem }],
    [`directories update corp --password-file ${pwFile}`, 'PATCH', '/v1/admin/directories/corp', { password: 'bind-secret' }],
    [`directories update corp --url ldaps://dc2:636 --bind-dn cn=s,dc=x --base-dn dc=y --sync-every 5m --ca-file ${caFile} --no-starttls`, 'PATCH', '/v1/admin/directories/corp',
      { url: 'ldaps://dc2:636', bindDn: 'cn=s,dc=x', baseDn: 'dc=y', syncSeconds: 300, caCert: caPem, startTls: false }],
    ['directories update corp --system-ca --starttls', 'PATCH', '/v1/admin/directories/corp', { caCert: null, startTls: true }],
    ['directories test corp', 'POST', '/v1/admin/directories/corp/test', {}],
    ['directories sync corp', 'POST', '/v1/admin/directories/corp/sync', {}],
    ['directories remove corp', 'DELETE', '/v1/admin/directories/corp'],
    ['groups create Shared --directory corp --dn cn=shared,dc=x', 'POST', '/v1/admin/groups', { name: 'Shared', directory: 'corp', dn: 'cn=shared,dc=x' }],
  ];

  it.each(cases)('%s → %s %s', (line, method, path, body) => {
    const r = req(line);
    expect(r.method).toBe(method);
    expect(r.path).toBe(path);
    expect(r.body).toEqual(body);
  });

  it('covers every command of the table', () => {
    const tested = new Set(cases.map(([line]) => COMMANDS.find((c) => `${line} `.startsWith(`${c.name} `))?.name));
    expect(COMMANDS.map((c) => c.name).filter((n) => !tested.has(n))).toEqual([]);
  });

  it('URL-encodes names in path segments, dot segments included', () => {
    expect(call(['groups', 'show', 'Lab A/1?x']).request.path).toBe('/v1/admin/groups/Lab%20A%2F1%3Fx');
    expect(call(['devices', 'show', '..']).request.path).toBe('/v1/admin/devices/%2E%2E');
    expect(seg('a.b')).toBe('a.b');
    expect(call(['groups', 'add-devices', 'Lab A', 'pc 1']).request).toEqual({
      method: 'POST', path: '/v1/admin/groups/Lab%20A/devices', body: { devices: ['pc 1'] },
    });
  });

  it('accepts global flags before or after the command words, with = or a separate value', () => {
    const a = call(['--server', 'http://h:1/', '--token', 'T', 'groups', 'list', '--json']);
    const b = call(['groups', '--json', 'list', '--server=http://h:1', '--token=T']);
    for (const inv of [a, b]) {
      expect(inv.global).toEqual({ server: 'http://h:1', token: 'T', json: true });
      expect(inv.request.path).toBe('/v1/admin/groups');
    }
    // A value that looks like a command word stays a value.
    expect(call(['--token', 'groups', 'whoami']).global.token).toBe('groups');
    expect(call(['licenses', 'assign', '--group', 'list', '--subscription', 'show']).request.body).toEqual({ subscription: 'show', group: 'list' });
  });

  it('takes server and token from the environment, flags first', () => {
    expect(call(['whoami'], {}).global).toEqual({ server: 'http://127.0.0.1:8470', token: undefined, json: false });
    expect(call(['whoami'], { DEVLIC_SERVER: 'https://lic.example/devlic/', DEVLIC_ADMIN_TOKEN: ' t1\n' }).global)
      .toEqual({ server: 'https://lic.example/devlic', token: 't1', json: false });
    expect(call(['whoami', '--server', 'http://a:2', '--token', 't2'], { DEVLIC_SERVER: 'http://b:3', DEVLIC_ADMIN_TOKEN: 't1' }).global)
      .toEqual({ server: 'http://a:2', token: 't2', json: false });
  });

  it('answers --help at every level without needing a token', () => {
    const top = parseInvocation(['--help'], {});
    expect(top.kind).toBe('help');
    expect(top.kind === 'help' && top.text).toContain('devlic-admin [--server URL] [--token T] <command> [--json]');
    const noun = parseInvocation(['groups', '--help'], {});
    expect(noun.kind === 'help' && noun.text).toContain('groups add-devices GROUP DEVICE...');
    const cmd = parseInvocation(['subscriptions', 'add', '-h'], {});
    expect(cmd.kind === 'help' && cmd.text).toContain('--term-end DATE');
    // --help wins over otherwise wrong arguments.
    expect(parseInvocation(['subscriptions', 'add', '--seats', 'abc', '--help'], {}).kind).toBe('help');
    expect(parseInvocation(['help', 'devices', 'list'], {}).kind).toBe('help');
    for (const c of COMMANDS) {
      const h = parseInvocation([...c.name.split(' '), '--help'], {});
      expect(h.kind === 'help' && h.text).toContain(`Usage: devlic-admin [--server URL] [--token T] ${c.name}`);
    }
  });
});

describe('usage errors (exit 2)', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /missing command/],
    ['frobnicate', /unknown command 'frobnicate'/],
    ['groups', /missing sub-command after 'groups'/],
    ['groups explode', /unknown sub-command 'groups explode'/],
    ['subscriptions add --product P --seats abc', /--seats must be a whole number/],
    ['subscriptions add --product P --seats -1', /--seats|argument/],
    ['subscriptions add --product P --seats 1.5', /--seats must be a whole number/],
    ['subscriptions add --product P --seats 10000001', /--seats must be a whole number from 0 to 10000000/],
    ['subscriptions add --seats 5', /missing --product/],
    ['subscriptions add --product P', /missing --seats/],
    ['subscriptions add --product P --seats 5 --term-end tomorrow', /--term-end/],
    ['subscriptions show', /missing SUBSCRIPTION/],
    ['subscriptions update EA', /nothing to update/],
    ['subscriptions update EA --status expired', /--status must be active or suspended/],
    ['groups create', /missing NAME/],
    ['groups create a b', /unexpected argument 'b'/],
    ['groups create Lab --seats 3', /unknown option '--seats' for 'groups create'/],
    ['groups create Lab --parent', /--parent/],
    ['groups create Lab --rule os==', /rule: expected a value after '==' at 5 \[RULE_INVALID\]/],
    ['groups update Lab', /groups update needs either --rule EXPR or --no-rule/],
    ['groups update Lab --rule os=="a" --no-rule', /groups update needs either --rule EXPR or --no-rule/],
    ['groups update Lab --rule os', /rule: expected ==, !=, like or in after 'os', found the end of the rule at 3/],
    ['devices tag pc1', /missing TAG/],
    ['groups preview', /groups preview needs --rule EXPR/],
    ['groups preview --rule os==', /rule: expected a value after '==' at 5/],
    ['groups add-devices Lab', /missing DEVICE/],
    ['groups nest Lab', /missing CHILD/],
    ['licenses assign --group Lab', /missing --subscription/],
    ['licenses unassign --subscription EA', /missing --group/],
    ['licenses assign --subscription U --group Lab --user-group T', /--group or --user-group, not both/],
    ['licenses assign --user-group T', /missing --subscription/],
    ['user-groups add-users Teachers', /missing USER/],
    ['user-groups create', /missing NAME/],
    ['user-groups create Staff --directory corp', /needs both --directory DIR and --dn DN/],
    ['user-groups create Staff --dn CN=x', /needs both --directory DIR and --dn DN/],
    ['devices list --licensed --unlicensed', /not both/],
    ['devices list --limit 0', /--limit must be a whole number from 1 to 1000/],
    ['devices list --limit ten', /--limit/],
    ['devices list --offset -3', /--offset|argument/],
    ['devices list --after WyJhIiwiYiJd --offset 3', /--after or --offset, not both/],
    ['devices list --csv --after WyJhIiwiYiJd', /no --limit, --offset or --after/],
    ['devices show', /missing DEVICE/],
    ['devices show a b', /unexpected argument 'b'/],
    ['devices merge dev_new', /missing OLD/],
    ['devices merge dev_new dev_old dev_x', /unexpected argument 'dev_x'/],
    ['enroll-tokens create --expires 7y', /invalid duration/],
    ['enroll-tokens create --expires 30s', /--expires must be between 1m and 366d/],
    ['enroll-tokens create --uses 0', /--uses must be a whole number from 1/],
    ['admins create', /missing --role/],
    ['admins create --role owner', /--role must be global-admin or reader/],
    ['audit list --limit 5000', /--limit/],
    ['whoami extra', /unexpected argument 'extra'/],
    ['products list --frobnicate', /unknown option '--frobnicate'/],
    ['products list --server ftp://x', /http:\/\/ or https:\/\//],
    ['products list --server not-a-url', /invalid --server URL/],
  ];

  it.each(bad)('%s', (line, reason) => {
    expect(usageError(line === '' ? [] : line.split(' '))).toMatch(reason);
  });

  it('refuses empty references instead of calling a list endpoint', () => {
    expect(usageError(['groups', 'show', ''])).toMatch(/GROUP must not be empty/);
    expect(usageError(['licenses', 'assign', '--subscription', ' ', '--group', 'Lab'])).toMatch(/--subscription must not be empty/);
  });

  it('reports a bad DEVLIC_SERVER by name', () => {
    expect(usageError(['whoami'], { DEVLIC_SERVER: 'localhost:8470' })).toMatch(/DEVLIC_SERVER/);
  });
});

describe('human output', () => {
  const ctx = { now: NOW, server: 'http://127.0.0.1:8470' };

  const device = (over: Partial<DeviceView>): DeviceView => ({
    id: 'dev_1', name: 'laptop-01', groups: [{ id: 'grp_1', name: 'Lab' }], licensed: true, reason: 'ASSIGNED',
    product: 'M365-DEV', subscription: { id: 'sub_1', name: 'EA' }, licenseGroup: { id: 'grp_1', name: 'Lab' },
    entitlementSeq: 4, disabled: false, lastMode: 'full', lastReason: 'ASSIGNED', lastSeenAt: '2026-05-01T11:59:48Z',
    users: [{ name: 'alice', mode: 'full' }, { name: 'bob', mode: 'full' }], agentVersion: '0.1.0',
    cacheExpiresAt: null, enforcement: { ok: true, failing: [] }, enrolledAt: '2026-04-01T00:00:00Z', duplicateOf: null, retired: null, ...over,
  });

  it('lists devices with seat, reason, last mode, enforced, relative last seen and users', () => {
    const out = renderDevices({
      items: [
        device({}),
        device({ id: 'dev_2', name: 'tablet-7', groups: [], licensed: false, reason: 'NOT_IN_LICENSED_GROUP', lastMode: null, lastSeenAt: null, users: [], enforcement: { ok: null, failing: [] } }),
        device({ id: 'dev_3', name: 'lab-3', enforcement: { ok: false, failing: [{ enforcer: 'libreoffice', reason: 'too old' }, { enforcer: 'hook', reason: 'exit 1' }] } }),
      ],
      total: 3,
    }, ctx);
    const lines = out.trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['ID', 'NAME', 'GROUPS', 'SEAT', 'REASON', 'LAST MODE', 'ENFORCED', 'LAST SEEN', 'USERS']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['dev_1', 'laptop-01', 'Lab', 'yes', 'ASSIGNED', 'full', 'yes', '12s ago', 'alice, bob']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['dev_2', 'tablet-7', '-', 'no', 'NOT_IN_LICENSED_GROUP', '-', 'unknown', 'never', '-']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['dev_3', 'lab-3', 'Lab', 'yes', 'ASSIGNED', 'full', 'NO (libreoffice, hook)', '12s ago', 'alice, bob']);
    expect(lines).toHaveLength(4);
    // Every column starts at the same offset on every line.
    expect(lines[1].indexOf('yes')).toBe(lines[0].indexOf('SEAT'));
    expect(lines[2].indexOf('never')).toBe(lines[0].indexOf('LAST SEEN'));
  });

  it('shows a possible duplicate with the merge command, hashed identifiers as such, and a merge', () => {
    const facts = { machineIdHash: 'sha256:0123456789ab', hardwareUuid: 'sha256:ba9876543210', serial: 'sha256:aaaabbbbcccc', hostname: 'lap', manufacturer: 'M', model: 'X', os: 'Linux', redacted: true };
    const out = renderDevice({ ...device({ id: 'dev_new', duplicateOf: { id: 'dev_old', name: 'laptop-01' } }), facts, tags: [], osVersion: '10.0.22631', lastError: null, reports: [] }, ctx);
    expect(out).toMatch(/OS version: +10\.0\.22631/);
    expect(out).toMatch(/Possible duplicate of: +laptop-01 \(dev_old\).*devlic-admin devices merge dev_new dev_old/);
    expect(out).toMatch(/Serial: +sha256:aaaabbbbcccc/);
    expect(out).toMatch(/Identifiers: +shown as short hashes/);
    expect(renderDevice({ ...device({}), facts: { ...facts, redacted: false }, tags: [], osVersion: null, lastError: null, reports: [] }, ctx)).not.toMatch(/Identifiers|duplicate/);
    const merged = renderMerged({ id: 'dev_old', retired: 'dev_new', device: device({ id: 'dev_old', name: 'laptop-01' }) }, ctx);
    expect(merged).toMatch(/^Merged device dev_new into 'laptop-01' \(dev_old\): it keeps its groups and seat/);
  });

  it('says when a device page is not the whole fleet', () => {
    const out = renderDevices({ items: [device({})], total: 40 }, ctx);
    expect(out).toContain('Showing 1 of 40 devices; use --offset');
    // With the next page's cursor, the note gives it as --after.
    expect(renderDevices({ items: [device({})], total: 40, next: 'WyJhIiwiYiJd' }, ctx)).toContain('Showing 1 of 40 devices; next page: --after WyJhIiwiYiJd.');
    expect(renderDevices({ items: [], total: 0 }, ctx)).toBe('No devices.\n');
    // A page by --after repeats the first page's total: the note says when it was counted.
    const later = renderDevices({ items: [device({})], total: 40, totalAsOf: '2026-12-03T08:41:00.000Z', next: 'x' }, ctx);
    expect(later).toMatch(/Showing 1 of 40 devices \(total as counted at .*2026.*, on the first page\); next page: --after x\./);
    expect(renderDevices({ items: [device({})], total: 40, totalAsOf: null }, ctx)).not.toContain('counted');
  });

  it('lists products with seat counts', () => {
    const p: Product = { id: 'prd_1', sku: 'M365-DEV', name: 'Microsoft 365 Apps for enterprise (device)', channel: 'EA', seatsTotal: 20, seatsAssigned: 3, seatsAvailable: 17 };
    const lines = renderProducts({ items: [p], total: 1 }).trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['SKU', 'NAME', 'CHANNEL', 'TOTAL', 'ASSIGNED', 'AVAILABLE']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['M365-DEV', 'Microsoft 365 Apps for enterprise (device)', 'EA', '20', '3', '17']);
  });

  it('says how many devices lost their licence on unassign', () => {
    const r: UnassignResult = { id: 'asg_1', subscription: { id: 'sub_1', name: 'EA' }, group: { id: 'grp_1', name: 'Lab' }, devicesAffected: 20 };
    expect(renderUnassigned(r)).toContain('20 devices lost their licence');
    expect(renderUnassigned({ ...r, devicesAffected: 1 })).toContain('1 device lost its licence');
  });

  it('shows a new enrollment token once, with the agent command that uses it', () => {
    const t: EnrollToken = { id: 'enr_1', expiresAt: '2026-05-08T12:00:00Z', usesLeft: 20, status: 'active', revokedAt: null, revokedBy: null, group: null, createdAt: '2026-05-01T12:00:00Z', token: 'dlenr_abc123' };
    const out = renderEnrollTokenCreated(t, ctx);
    expect(out).toMatch(/shown only once/);
    expect(out).toContain('\n    dlenr_abc123\n');
    expect(out).toContain('devlic-agent enroll --server http://127.0.0.1:8470 --token dlenr_abc123');
    expect(out).toContain('in 7d');
  });

  it('shows a new admin token once', () => {
    const a: Admin = { id: 'adm_2', name: 'helpdesk', role: 'reader', createdAt: '2026-05-01T12:00:00Z', revokedAt: null, revokedBy: null, token: 'dladm_xyz' };
    const out = renderAdminCreated(a);
    expect(out).toContain('\n    dladm_xyz\n');
    expect(out).toMatch(/Role:\s+reader/);
  });

  it('hints what to do for the service error codes', () => {
    expect(hintFor('FORBIDDEN', 403)).toMatch(/global-admin/);
    expect(hintFor('AMBIGUOUS_NAME', 409)).toMatch(/id/);
    expect(hintFor('DIRECTORY_FAILED', 502)).toMatch(/No membership was changed/);
    expect(hintFor('GROUP_ALREADY_LICENSED', 409)).toMatch(/unassign/);
    expect(hintFor('INTERNAL', 500)).toMatch(/log/);
    expect(hintFor('VALIDATION_FAILED', 400)).toBeUndefined();
  });
});

describe('exit codes of the real entry point', () => {
  const node = resolve('node_modules/.bin/node');
  const run = (args: string[], env: Record<string, string> = {}) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    if (!('DEVLIC_ADMIN_TOKEN' in env)) delete childEnv.DEVLIC_ADMIN_TOKEN;
    if (!('DEVLIC_SERVER' in env)) delete childEnv.DEVLIC_SERVER;
    return spawnSync(node, ['service/admin-cli/main.ts', ...args], { encoding: 'utf8', env: childEnv, timeout: 20_000 });
  };

  it('exits 2 with a one-line reason for wrong usage', () => {
    const r = run(['subscriptions', 'add', '--product', 'P', '--seats', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe("devlic-admin: --seats must be a whole number from 0 to 10000000 (got 'abc')");
  });

  it('exits 0 and prints usage for --help', () => {
    const r = run(['devices', 'list', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--unlicensed');
  });

  it('exits 1 and says where the token is when there is none', () => {
    const r = run(['whoami']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DEVLIC_ADMIN_TOKEN/);
    expect(r.stderr).toMatch(/admin-token/);
  });

  it('exits 1 with advice when the service cannot be reached', async () => {
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => done(p));
      });
    });
    const server = `http://127.0.0.1:${port}`;
    const r = run(['products', 'list', '--server', server], { DEVLIC_ADMIN_TOKEN: 't' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot reach the licensing service at ${server}`);
    expect(r.stderr).toContain('is devlic-server running? use --server');
  });
});
