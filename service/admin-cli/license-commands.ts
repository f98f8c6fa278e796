// devlic-admin's `licenses` commands: which subscription is assigned to which
// device group or user group, and assigning or unassigning one.
import { API } from '../../shared/api.ts';
import type { AssignBody } from '../../shared/schemas/assignments.ts';
import type { AssignUserGroupBody } from '../../shared/schemas/user-admin.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, required, str, take } from './arguments.ts';
import { guarded, list, str_, type ApiRequest, type CommandArgs, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';
import * as ru from './render-users.ts';

const A = API.admin;

export const LICENSE_COMMANDS: CommandSpec[] = [
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
