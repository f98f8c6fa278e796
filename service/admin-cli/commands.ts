// The table of devlic-admin commands: for each one its usage, its options,
// how its arguments become one admin API request, and how the answer is shown.
// Building a request is pure and throws UsageError on bad input (exit 2), so
// the whole argv → request mapping is testable without a server.
import { API } from '../../shared/api.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, count, parseCount, parseExpires, parseStale, parseTermEnd, query, required, seg, str, take } from './arguments.ts';
import type {
  AssignBody, CreateAdminBody, CreateEnrollTokenBody, CreateGroupBody, CreateSubscriptionBody,
  DeviceTagsBody, GroupChildBody, GroupDevicesBody, GroupRuleBody, RulePreviewBody, MergeDevicesBody, UpdateDeviceBody, UpdateGroupBody, UpdateSubscriptionBody,
} from '../../shared/schemas/admin.ts';
import * as r from './render.ts';
import * as ru from './render-users.ts';
import type { AssignUserGroupBody } from '../../shared/schemas/user-admin.ts';
import { USER_GROUP_COMMANDS } from './user-group-commands.ts';
import { SIGN_IN_DOMAIN_COMMANDS } from './sign-in-domain-commands.ts';
import { checkRule } from './rule-arg.ts';
import { DIRECTORY_COMMANDS } from './directory-commands.ts';
import { bool_, cmd, guarded, list, str_, type ApiRequest, type CommandArgs, type CommandSpec } from './command-spec.ts';

export type { ApiRequest, CommandArgs, CommandSpec, Method } from './command-spec.ts';
export { withConfirm } from './command-spec.ts';

const A = API.admin;

// Argument helpers live in arguments.ts; these are re-exported for the tests.
export { parseCount, parseExpires, parseTermEnd, seg } from './arguments.ts';

// ---- the commands ----------------------------------------------------------

export const COMMANDS: CommandSpec[] = [
  list('products list', '/products', 'List products with their seat totals', r.renderProducts),

  list('subscriptions list', '/subscriptions', 'List subscriptions and the groups they are assigned to', r.renderSubscriptions),
  cmd({
    name: 'subscriptions add', summary: 'Add a subscription (a number of device seats for a product)', answer: 'object',
    options: { product: str_, seats: str_, name: str_, 'term-end': str_ },
    optionHelp: [
      ['--product SKU', "product SKU (required; see 'devlic-admin products list')", true],
      ['--seats N', 'number of device seats (required)', true],
      ['--name NAME', 'a name to refer to it by (default: chosen by the service)'],
      ['--term-end DATE', 'end of the term: YYYY-MM-DD (through that day, UTC) or an ISO date-time'],
    ],
    build(a) {
      take(a, []);
      const body: CreateSubscriptionBody = {
        product: checkRef(required(a, 'product', 'SKU'), '--product'),
        seats: parseCount(required(a, 'seats', 'N'), 'seats', 0, 10_000_000),
      };
      const name = str(a, 'name');
      if (name !== undefined) body.name = checkRef(name, '--name');
      const termEnd = str(a, 'term-end');
      if (termEnd !== undefined && termEnd !== 'none') body.termEnd = parseTermEnd(termEnd);
      return { method: 'POST', path: `${A}/subscriptions`, body };
    },
    render: r.renderSubscriptionCreated,
  }),
  cmd({
    name: 'subscriptions show', args: 'SUBSCRIPTION', summary: 'Show one subscription (by id or name)', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/subscriptions/${seg(take(a, ['SUBSCRIPTION'])[0])}` }),
    render: r.renderSubscription,
  }),
  guarded({
    name: 'subscriptions update', args: 'SUBSCRIPTION', summary: 'Rename a subscription or change its seats, status or term end', answer: 'object',
    options: { name: str_, seats: str_, status: str_, 'term-end': str_ },
    optionHelp: [
      ['--name NAME', 'new name'],
      ['--seats N', 'new number of seats (devices beyond it lose their seat)'],
      ['--status active|suspended', 'suspend (every device goes read-only) or reactivate'],
      ['--term-end DATE|none', "new term end, or 'none' to remove it"],
    ],
    build(a) {
      const [s] = take(a, ['SUBSCRIPTION']);
      const body: UpdateSubscriptionBody = {};
      const name = str(a, 'name');
      if (name !== undefined) body.name = checkRef(name, '--name');
      const seats = count(a, 'seats', 0, 10_000_000);
      if (seats !== undefined) body.seats = seats;
      const status = str(a, 'status');
      if (status !== undefined) {
        if (status !== 'active' && status !== 'suspended') throw new UsageError(`--status must be active or suspended (got '${status}')`);
        body.status = status;
      }
      const termEnd = str(a, 'term-end');
      if (termEnd !== undefined) body.termEnd = termEnd === 'none' ? null : parseTermEnd(termEnd);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give --name, --seats, --status or --term-end');
      return { method: 'PATCH', path: `${A}/subscriptions/${seg(s)}`, body };
    },
    render: r.renderSubscriptionUpdated,
  }),

  list('groups list', '/groups', 'List device groups', r.renderGroups),
  cmd({
    name: 'groups show', args: 'GROUP', summary: 'Show one group (by id or name)', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/groups/${seg(take(a, ['GROUP'])[0])}` }),
    render: r.renderGroup,
  }),
  cmd({
    name: 'groups create', args: 'NAME', summary: 'Create a device group', answer: 'object',
    options: { parent: str_, rule: str_, directory: str_, dn: str_ },
    optionHelp: [['--parent GROUP', 'nest the new group inside this group'], ['--rule EXPR', 'members are the devices the rule matches, e.g. \'os == "Windows" and tags == "lab"\''],
      ['--directory DIR --dn DN', 'members are the computer objects of this directory group (nested groups followed), matched by hostname']],
    build(a) {
      const [name] = take(a, ['NAME']);
      const body: CreateGroupBody = { name };
      const parent = str(a, 'parent');
      if (parent !== undefined) body.parent = checkRef(parent, '--parent');
      const rule = str(a, 'rule');
      if (rule !== undefined) body.rule = checkRule(rule);
      const directory = str(a, 'directory');
      const dn = str(a, 'dn');
      if ((directory === undefined) !== (dn === undefined)) throw new UsageError('a directory group needs both --directory DIR and --dn DN');
      if (directory !== undefined && rule !== undefined) throw new UsageError('a group takes its members from --rule or from --directory, not both');
      if (directory !== undefined && dn !== undefined) {
        if (dn.trim() === '') throw new UsageError('--dn must not be empty');
        body.directory = checkRef(directory, '--directory');
        body.dn = dn;
      }
      return { method: 'POST', path: `${A}/groups`, body };
    },
    render: r.groupChanged((g) => `Created group ${g}.`),
  }),
  guarded({
    name: 'groups add-devices', args: 'GROUP DEVICE...', summary: 'Add devices (ids or names) to a group', answer: 'object',
    build(a) {
      const [g, ...devices] = take(a, ['GROUP'], 'DEVICE');
      const body: GroupDevicesBody = { devices };
      return { method: 'POST', path: `${A}/groups/${seg(g)}/devices`, body };
    },
    render: r.groupChanged((g, b) => `Added ${r.deviceCount(b)} to group ${g}.`),
  }),
  guarded({
    name: 'groups remove-devices', args: 'GROUP DEVICE...', summary: 'Remove devices from a group', answer: 'object',
    details: ['Devices that were licensed only through this group lose their licence.'],
    build(a) {
      const [g, ...devices] = take(a, ['GROUP'], 'DEVICE');
      const body: GroupDevicesBody = { devices };
      return { method: 'POST', path: `${A}/groups/${seg(g)}/devices/remove`, body };
    },
    render: r.groupChanged((g, b) => `Removed ${r.deviceCount(b)} from group ${g}.`),
  }),
  guarded({
    name: 'groups nest', args: 'PARENT CHILD', summary: 'Nest group CHILD inside group PARENT', answer: 'object',
    details: ["The devices of CHILD get the licence of PARENT's subscription."],
    build(a) {
      const [parent, child] = take(a, ['PARENT', 'CHILD']);
      const body: GroupChildBody = { group: child };
      return { method: 'POST', path: `${A}/groups/${seg(parent)}/children`, body };
    },
    render: r.groupChanged((g, b) => `Nested group ${r.childName(b)} inside ${g}.`),
  }),
  guarded({
    name: 'groups unnest', args: 'PARENT CHILD', summary: 'Take group CHILD out of group PARENT', answer: 'object',
    build(a) {
      const [parent, child] = take(a, ['PARENT', 'CHILD']);
      const body: GroupChildBody = { group: child };
      return { method: 'POST', path: `${A}/groups/${seg(parent)}/children/remove`, body };
    },
    render: r.groupChanged((g, b) => `Took group ${r.childName(b)} out of ${g}.`),
  }),

  cmd({
    name: 'groups preview', summary: 'Say how many devices a rule matches now (changes nothing)', answer: 'object',
    options: { rule: str_ },
    optionHelp: [['--rule EXPR', 'the rule to try (required)']],
    build(a) {
      take(a, []);
      const rule = str(a, 'rule');
      if (rule === undefined) throw new UsageError('groups preview needs --rule EXPR');
      const body: RulePreviewBody = { rule: checkRule(rule) };
      return { method: 'POST', path: `${A}/groups/preview`, body };
    },
    render: r.renderRulePreview,
  }),
  guarded({
    name: 'groups update', args: 'GROUP', summary: 'Set, replace or remove a group\'s rule', answer: 'object',
    options: { rule: str_, 'no-rule': bool_ },
    optionHelp: [
      ['--rule EXPR', 'the new rule: the members become the devices it matches'],
      ['--no-rule', 'back to members added by hand: the current members stay, as manual members'],
    ],
    details: ['With --rule, members added by hand before go; devices that no longer match lose a licence they had only through this group.'],
    build(a) {
      const [g] = take(a, ['GROUP']);
      const rule = str(a, 'rule');
      const none = a.values['no-rule'] === true;
      if ((rule === undefined) === !none) throw new UsageError('groups update needs either --rule EXPR or --no-rule');
      const body: GroupRuleBody = { rule: none ? null : checkRule(rule!) };
      return { method: 'POST', path: `${A}/groups/${seg(g)}/rule`, body };
    },
    render: r.groupChanged((g, b) => (b.rule === null
      ? `Removed the rule of group ${g}: its current members stay, now as manual members (add or remove devices by hand).`
      : `Set the rule of group ${g}.`)),
  }),
  cmd({
    name: 'groups rename', args: 'GROUP NEW-NAME', summary: 'Rename a group (its id, members and licence stay)', answer: 'object',
    build(a) {
      const [g, name] = take(a, ['GROUP', 'NEW-NAME']);
      const body: UpdateGroupBody = { name };
      return { method: 'PATCH', path: `${A}/groups/${seg(g)}`, body };
    },
    render: r.groupChanged((g) => `Renamed the group to ${g}.`),
  }),
  guarded({
    name: 'groups delete', args: 'GROUP', summary: 'Delete a group (its devices stay, in their other groups)', answer: 'object',
    details: [
      'Refused (GROUP_HAS_LICENSES) while a subscription is assigned to it or to a group nested in it:',
      "unassign first ('devlic-admin licenses list').",
    ],
    build: (a) => ({ method: 'DELETE', path: `${A}/groups/${seg(take(a, ['GROUP'])[0])}` }),
    render: r.renderDeleted('group'),
  }),

  list('licenses list', '/licenses', 'List which subscription is assigned to which group', r.renderAssignments),
  list('licenses list-users', '/user-licenses', 'List which user product subscription is assigned to which user group', ru.renderUserAssignments),
  guarded({
    name: 'licenses assign', summary: 'Assign a subscription to a group (every device in it) or a user group (every person in it)', answer: 'object',
    details: ['A group can have one subscription; unassign the old one first. Needs a global-admin token.',
      'A device product goes to a device group (--group), a user product to a user group (--user-group).'],
    options: { subscription: str_, group: str_, 'user-group': str_ },
    optionHelp: [['--subscription S', 'subscription id or name (required)', true], ['--group G', 'device group id or name (this or --user-group)'],
      ['--user-group G', 'user group id or name (this or --group)']],
    build: (a) => assignRequest(a, 'assign'),
    render: ((d: never, ctx: r.RenderContext) => ('userGroup' in (d as object) ? ru.renderUserAssigned(d) : r.renderAssigned(d)) as string) as never,
  }),
  guarded({
    name: 'licenses unassign', summary: "Remove a subscription from a group (its devices go read-only) or a user group (its people lose their own licence)", answer: 'object',
    details: ['Nothing is deleted: apps and documents stay, readable and printable. Needs a global-admin token.'],
    options: { subscription: str_, group: str_, 'user-group': str_ },
    optionHelp: [['--subscription S', 'subscription id or name (required)', true], ['--group G', 'device group id or name (this or --user-group)'],
      ['--user-group G', 'user group id or name (this or --group)']],
    build: (a) => assignRequest(a, 'unassign'),
    render: ((d: never) => (typeof (d as { userGroup?: unknown }).userGroup === 'string' ? ru.renderUserUnassigned(d) : r.renderUnassigned(d)) as string) as never,
  }),

  ...USER_GROUP_COMMANDS,
  ...SIGN_IN_DOMAIN_COMMANDS,

  cmd({
    name: 'devices list', summary: 'List devices with their licence state, last report and users', answer: 'items',
    options: { licensed: bool_, unlicensed: bool_, search: str_, limit: str_, offset: str_, after: str_, stale: str_, retired: bool_, 'in-service': bool_, 'not-enforced': bool_, csv: bool_ },
    optionHelp: [
      ['--licensed | --unlicensed', 'only devices that have a seat / that have none'],
      ['--search TEXT', 'only devices whose name or id contains TEXT'],
      ['--stale DURATION', 'only devices not seen for this long, e.g. 30d (candidates for retiring)'],
      ['--retired | --in-service', 'only retired devices / only devices in service'],
      ['--not-enforced', 'only devices whose last report says an enforcer does not hold the mode (ENFORCED column NO)'],
      ['--csv', 'every matching device as CSV (hostname, group, seat, mode, enforcement, users, agent version, last seen)'],
      ['--limit N', 'at most N devices (1-1000)'],
      ['--after CURSOR', 'the page after this one: the cursor printed under the previous page (same cost at any depth)'],
      ['--offset N', 'skip the first N devices (deep offsets are slower than --after)'],
    ],
    build(a) {
      take(a, []);
      if (a.values.licensed && a.values.unlicensed) throw new UsageError('give --licensed or --unlicensed, not both');
      if (a.values.retired && a.values['in-service']) throw new UsageError('give --retired or --in-service, not both');
      const licensed = a.values.licensed ? 'true' : a.values.unlicensed ? 'false' : undefined;
      const retired = a.values.retired ? 'true' : a.values['in-service'] ? 'false' : undefined;
      const search = str(a, 'search');
      if (search !== undefined && search.length > 128) throw new UsageError('--search is too long (at most 128 characters)');
      const stale = str(a, 'stale');
      const enforced = a.values['not-enforced'] ? 'false' : undefined;
      const filters = { licensed, retired, enforced, q: search, staleMinutes: stale === undefined ? undefined : parseStale(stale) };
      if (a.values.csv) {
        if (str(a, 'limit') !== undefined || str(a, 'offset') !== undefined || str(a, 'after') !== undefined) {
          throw new UsageError('--csv exports every matching device: no --limit, --offset or --after');
        }
        return { method: 'GET', path: `${A}/devices.csv${query(filters)}`, raw: true };
      }
      const after = str(a, 'after');
      if (after !== undefined && str(a, 'offset') !== undefined) throw new UsageError('give --after or --offset, not both');
      const params = { ...filters, limit: count(a, 'limit', 1, 1000), offset: count(a, 'offset', 0, 1_000_000_000), after };
      return { method: 'GET', path: `${A}/devices${query(params)}` };
    },
    render: r.renderDevices,
  }),
  cmd({
    name: 'devices show', args: 'DEVICE', summary: 'Show one device: licence, hardware, recent reports', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}` }),
    render: r.renderDevice,
  }),
  guarded({
    name: 'devices disable', args: 'DEVICE', summary: 'Disable a device: it loses its licence and seat', answer: 'object',
    build: (a) => toggle(a, true),
    render: r.deviceChanged(true),
  }),
  guarded({
    name: 'devices tag', args: 'DEVICE TAG...', summary: 'Add admin-set tags to a device (rules can name them: tags == "lab")', answer: 'object',
    build(a) {
      const [d, ...tags] = take(a, ['DEVICE'], 'TAG');
      const body: DeviceTagsBody = { tags };
      return { method: 'POST', path: `${A}/devices/${seg(d)}/tags`, body };
    },
    render: r.renderDevice,
  }),
  guarded({
    name: 'devices untag', args: 'DEVICE TAG...', summary: 'Remove tags from a device', answer: 'object',
    details: ['A rule group that matched the device by a removed tag lets it go (and its seat, if it had one only there).'],
    build(a) {
      const [d, ...tags] = take(a, ['DEVICE'], 'TAG');
      const body: DeviceTagsBody = { tags };
      return { method: 'POST', path: `${A}/devices/${seg(d)}/tags/remove`, body };
    },
    render: r.renderDevice,
  }),
  cmd({
    name: 'devices enable', args: 'DEVICE', summary: 'Enable a disabled device again', answer: 'object',
    build: (a) => toggle(a, false),
    render: r.deviceChanged(false),
  }),
  cmd({
    name: 'devices merge', args: 'NEW OLD', summary: 'Give device OLD the key of device NEW (a lost key: reinstalled OS)', answer: 'object',
    details: [
      'NEW is the record the reinstalled machine enrolled as (devices list/show marks it as a',
      'possible duplicate of OLD). OLD keeps its id, groups, seat and history and takes NEW\'s key',
      'and hardware facts; NEW is retired and its agent switches to OLD by itself. The key OLD',
      'had stops working at once: merge only when you know the machine behind NEW is OLD.',
      'Refused (409) when OLD reported after NEW enrolled: its agent still runs with its own key.',
      'Needs a global-admin token.',
    ],
    options: { force: bool_ },
    optionHelp: [['--force', 'merge even though OLD reported after NEW enrolled']],
    build(a) {
      const [from, into] = take(a, ['NEW', 'OLD']);
      const body: MergeDevicesBody = { from };
      if (a.values.force) body.force = true;
      return { method: 'POST', path: `${A}/devices/${seg(into)}/merge`, body };
    },
    render: r.renderMerged,
  }),
  guarded({
    name: 'devices retire', args: 'DEVICE', summary: 'Retire a device (stolen, broken, gone): it loses its seat at once', answer: 'object',
    details: [
      'The next device in line gets the seat; the retired device\'s agent switches to read-only',
      '(DEVICE_RETIRED) within seconds when online. It stays listed as retired until deleted.',
    ],
    build: (a) => ({ method: 'POST', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}/retire`, body: {} }),
    render: r.renderRetired,
  }),
  guarded({
    name: 'devices restore', args: 'DEVICE', summary: 'Undo a retire: the device competes for a seat again', answer: 'object',
    build: (a) => ({ method: 'POST', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}/restore`, body: {} }),
    render: r.renderRestored,
  }),
  cmd({
    name: 'devices delete', args: 'DEVICE', summary: 'Forget a retired device (its agent is refused from then on)', answer: 'object',
    details: ['Only retired devices can be deleted (DEVICE_NOT_RETIRED otherwise). The audit log keeps its name.'],
    build: (a) => ({ method: 'DELETE', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}` }),
    render: r.renderDeleted('device'),
  }),

  list('enroll-tokens list', '/enroll-tokens', 'List enrollment tokens (the secrets are not shown again)', r.renderEnrollTokens),
  cmd({
    name: 'enroll-tokens create', summary: 'Create a token that devices use to enroll', answer: 'object',
    options: { expires: str_, uses: str_, group: str_ },
    optionHelp: [
      ['--expires DURATION', 'lifetime, e.g. 30m, 12h, 7d (default: chosen by the service)'],
      ['--uses N', 'how many devices may enroll with it'],
      ['--group G', 'put enrolled devices in this group'],
    ],
    build(a) {
      take(a, []);
      const body: CreateEnrollTokenBody = {};
      const expires = str(a, 'expires');
      if (expires !== undefined) body.expiresInSeconds = parseExpires(expires);
      const uses = count(a, 'uses', 1, 100_000);
      if (uses !== undefined) body.uses = uses;
      const group = str(a, 'group');
      if (group !== undefined) body.group = checkRef(group, '--group');
      return { method: 'POST', path: `${A}/enroll-tokens`, body };
    },
    render: r.renderEnrollTokenCreated,
  }),
  cmd({
    name: 'enroll-tokens revoke', args: 'TOKEN-ID', summary: 'Revoke an enrollment token: it enrolls nothing from now on', answer: 'object',
    details: ['Devices it already enrolled stay enrolled.'],
    build: (a) => ({ method: 'POST', path: `${A}/enroll-tokens/${seg(take(a, ['TOKEN-ID'])[0])}/revoke`, body: {} }),
    render: r.renderEnrollTokenRevoked,
  }),

  list('admins list', '/admins', 'List admins and their roles', r.renderAdmins),
  cmd({
    name: 'admins create', summary: 'Create an admin token', answer: 'object',
    details: ['global-admin may change everything; reader may only look.'],
    options: { role: str_, name: str_ },
    optionHelp: [['--role global-admin|reader', 'what the admin may do (required)', true], ['--name NAME', 'who it is for']],
    build(a) {
      take(a, []);
      const role = required(a, 'role', 'global-admin|reader');
      if (role !== 'global-admin' && role !== 'reader') throw new UsageError(`--role must be global-admin or reader (got '${role}')`);
      const body: CreateAdminBody = { role };
      const name = str(a, 'name');
      if (name !== undefined) body.name = checkRef(name, '--name');
      return { method: 'POST', path: `${A}/admins`, body };
    },
    render: r.renderAdminCreated,
  }),
  cmd({
    name: 'admins revoke', args: 'ADMIN', summary: 'Revoke an admin token (by admin id or unique name)', answer: 'object',
    details: [
      'The token is refused from its next request on; its open console event streams are closed.',
      'The last global-admin cannot be revoked (LAST_GLOBAL_ADMIN): create another one first.',
    ],
    build: (a) => ({ method: 'POST', path: `${A}/admins/${seg(take(a, ['ADMIN'])[0])}/revoke`, body: {} }),
    render: r.renderAdminRevoked,
  }),

  cmd({
    name: 'audit list', summary: 'List recent admin actions, newest first', answer: 'items',
    options: { limit: str_, actor: str_, action: str_, target: str_ },
    optionHelp: [
      ['--limit N', 'at most N events (1-1000)'],
      ['--actor A', 'only events of this admin (id or name)'],
      ['--action X', "only this action, e.g. device.retire, or a prefix such as 'device.'"],
      ['--target ID', 'only events about this object id'],
    ],
    build(a) {
      take(a, []);
      const f = (n: string) => { const v = str(a, n); return v === undefined ? undefined : checkRef(v, `--${n}`); };
      return { method: 'GET', path: `${A}/audit${query({ limit: count(a, 'limit', 1, 1000), actor: f('actor'), action: f('action'), target: f('target') })}` };
    },
    render: r.renderAudit,
  }),

  cmd({
    name: 'whoami', summary: 'Show the admin the token belongs to', answer: 'object',
    build: (a) => (take(a, []), { method: 'GET', path: `${A}/whoami` }),
    render: r.renderWhoami,
  }),
  ...DIRECTORY_COMMANDS,
];

/** `licenses assign|unassign`: a device group (--group) or a user group (--user-group), exactly one. */
function assignRequest(a: CommandArgs, verb: 'assign' | 'unassign'): ApiRequest {
  const userGroup = str(a, 'user-group');
  if (userGroup === undefined) return { method: 'POST', path: `${A}/licenses/${verb}`, body: assignBody(a) };
  if (str(a, 'group') !== undefined) throw new UsageError(`licenses ${verb} takes --group or --user-group, not both`);
  take(a, []);
  const body: AssignUserGroupBody = {
    subscription: checkRef(required(a, 'subscription', 'S'), '--subscription'), userGroup: checkRef(userGroup, '--user-group'),
  };
  return { method: 'POST', path: `${A}/user-licenses/${verb}`, body };
}

function assignBody(a: CommandArgs): AssignBody {
  take(a, []);
  return {
    subscription: checkRef(required(a, 'subscription', 'S'), '--subscription'),
    group: checkRef(required(a, 'group', 'G'), '--group'),
  };
}

function toggle(a: CommandArgs, disabled: boolean): ApiRequest {
  const body: UpdateDeviceBody = { disabled };
  return { method: 'PATCH', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}`, body };
}

/** The command nouns in the order of the usage text. */
export const NOUNS: string[] = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))];

export function findCommand(noun: string, verb: string | undefined): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === (verb === undefined ? noun : `${noun} ${verb}`));
}

export function commandsOf(noun: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.split(' ')[0] === noun);
}
