// devlic-admin's argv → API request mapping: every command of the table, path
// encoding, global flags and environment, --help at every level, and the
// usage errors (exit 2) for what an admin may mistype. Pure, no service.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import { parseInvocation, type Env } from '../../service/admin-cli/args.ts';
import { COMMANDS } from '../../service/admin-cli/commands.ts';
import { seg } from '../../service/admin-cli/arguments.ts';

const ENV: Env = { DEVLIC_ADMIN_TOKEN: 'tok-env' };

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
    ['user-groups rename Teachers Staff', 'PATCH', '/v1/admin/user-groups/Teachers', { name: 'Staff' }],
    ['user-groups delete Staff', 'DELETE', '/v1/admin/user-groups/Staff'],
    ['licenses unassign --user-group Teachers --subscription U --yes', 'POST', '/v1/admin/user-licenses/unassign', { subscription: 'U', userGroup: 'Teachers', confirm: true }],
    ['user-groups create Staff --directory corp --dn CN=Staff,DC=corp', 'POST', '/v1/admin/user-groups', { name: 'Staff', directory: 'corp', dn: 'CN=Staff,DC=corp' }],
    ['sign-in-domains list', 'GET', '/v1/admin/sign-in-domains'],
    ['sign-in-domains add CORP corp.example.com', 'POST', '/v1/admin/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' }],
    ['sign-in-domains remove CORP', 'POST', '/v1/admin/sign-in-domains/CORP/remove', {}],
    ['sign-in-domains remove CORP --yes', 'POST', '/v1/admin/sign-in-domains/CORP/remove', { confirm: true }],
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
    ['sign-in-domains add CORP', /missing DNS/],
    ['sign-in-domains remove', /missing NETBIOS/],
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
