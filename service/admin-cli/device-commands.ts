// devlic-admin's `devices` commands (the fleet: list and CSV export, show,
// disable, tag, merge, retire, restore, delete) and how each becomes one admin
// API request.
import { API } from '../../shared/api.ts';
import type { DeviceTagsBody, MergeDevicesBody, UpdateDeviceBody } from '../../shared/schemas/fleet.ts';
import { UsageError } from '../../shared/cli.ts';
import { count, parseStale, query, seg, str, take } from './arguments.ts';
import { bool_, cmd, guarded, str_, type ApiRequest, type CommandArgs, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';
import * as rd from './render-devices.ts';

const A = API.admin;

export const DEVICE_COMMANDS: CommandSpec[] = [
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
    render: rd.renderDevices,
  }),
  cmd({
    name: 'devices show', args: 'DEVICE', summary: 'Show one device: licence, hardware, recent reports', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}` }),
    render: rd.renderDevice,
  }),
  guarded({
    name: 'devices disable', args: 'DEVICE', summary: 'Disable a device: it loses its licence and seat', answer: 'object',
    build: (a) => toggle(a, true),
    render: rd.deviceChanged(true),
  }),
  guarded({
    name: 'devices tag', args: 'DEVICE TAG...', summary: 'Add admin-set tags to a device (rules can name them: tags == "lab")', answer: 'object',
    build: (a) => tagsRequest(a, false),
    render: rd.renderDevice,
  }),
  guarded({
    name: 'devices untag', args: 'DEVICE TAG...', summary: 'Remove tags from a device', answer: 'object',
    details: ['A rule group that matched the device by a removed tag lets it go (and its seat, if it had one only there).'],
    build: (a) => tagsRequest(a, true),
    render: rd.renderDevice,
  }),
  cmd({
    name: 'devices enable', args: 'DEVICE', summary: 'Enable a disabled device again', answer: 'object',
    build: (a) => toggle(a, false),
    render: rd.deviceChanged(false),
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
    render: rd.renderMerged,
  }),
  guarded({
    name: 'devices retire', args: 'DEVICE', summary: 'Retire a device (stolen, broken, gone): it loses its seat at once', answer: 'object',
    details: [
      'The next device in line gets the seat; the retired device\'s agent switches to read-only',
      '(DEVICE_RETIRED) within seconds when online. It stays listed as retired until deleted.',
    ],
    build: (a) => ({ method: 'POST', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}/retire`, body: {} }),
    render: rd.renderRetired,
  }),
  guarded({
    name: 'devices restore', args: 'DEVICE', summary: 'Undo a retire: the device competes for a seat again', answer: 'object',
    build: (a) => ({ method: 'POST', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}/restore`, body: {} }),
    render: rd.renderRestored,
  }),
  cmd({
    name: 'devices delete', args: 'DEVICE', summary: 'Forget a retired device (its agent is refused from then on)', answer: 'object',
    details: ['Only retired devices can be deleted (DEVICE_NOT_RETIRED otherwise). The audit log keeps its name.'],
    build: (a) => ({ method: 'DELETE', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}` }),
    render: r.renderDeleted('device'),
  }),
];

/** devices tag / untag: the same body, to /tags or /tags/remove. */
function tagsRequest(a: CommandArgs, remove: boolean): ApiRequest {
  const [d, ...tags] = take(a, ['DEVICE'], 'TAG');
  const body: DeviceTagsBody = { tags };
  return { method: 'POST', path: `${A}/devices/${seg(d)}/tags${remove ? '/remove' : ''}`, body };
}

function toggle(a: CommandArgs, disabled: boolean): ApiRequest {
  const body: UpdateDeviceBody = { disabled };
  return { method: 'PATCH', path: `${A}/devices/${seg(take(a, ['DEVICE'])[0])}`, body };
}
