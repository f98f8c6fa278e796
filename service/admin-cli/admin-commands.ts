// devlic-admin's commands about admins themselves: their tokens (`admins`),
// what they changed (`audit list`) and who the token in use belongs to
// (`whoami`), and how each becomes one admin API request.
import { API } from '../../shared/api.ts';
import type { CreateAdminBody } from '../../shared/schemas/admins.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, count, query, required, seg, str, take } from './arguments.ts';
import { cmd, list, str_, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';

const A = API.admin;

export const ADMIN_COMMANDS: CommandSpec[] = [
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
];
