// devlic-admin's `user-groups` commands (issue 16: people licensed by their
// sign-in name) and how each becomes one admin API request. Sign-in names are
// sent as typed: the service normalises them (shared/sign-in.ts), so the CLI
// and the API cannot disagree about a name.
import { API } from '../../shared/api.ts';
import type { CreateUserGroupBody, UpdateUserGroupBody, UserGroupUsersBody } from '../../shared/schemas/user-admin.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, seg, str, take } from './arguments.ts';
import { cmd, guarded, list, str_, type CommandSpec } from './command-spec.ts';
import * as ru from './render-users.ts';
import { renderDeleted } from './render.ts';

const A = API.admin;

export const USER_GROUP_COMMANDS: CommandSpec[] = [
  list('user-groups list', '/user-groups', 'List user groups (people licensed by sign-in name)', ru.renderUserGroups),
  cmd({
    name: 'user-groups show', args: 'GROUP', summary: 'Show one user group and its members', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/user-groups/${seg(take(a, ['GROUP'])[0])}` }),
    render: ru.renderUserGroup,
  }),
  cmd({
    name: 'user-groups create', args: 'NAME', summary: 'Create a user group', answer: 'object',
    details: ['With --directory and --dn its members are the user objects of that directory group (nested groups followed),',
      'synced with the directory; their sign-in name is userPrincipalName, else sAMAccountName@<domain of the DN>, else mail.'],
    options: { directory: str_, dn: str_ },
    optionHelp: [['--directory DIR --dn DN', 'members are the people of this directory group, synced (no hand edits)']],
    build(a) {
      const [name] = take(a, ['NAME']);
      const body: CreateUserGroupBody = { name };
      const directory = str(a, 'directory');
      const dn = str(a, 'dn');
      if ((directory === undefined) !== (dn === undefined)) throw new UsageError('a directory user group needs both --directory DIR and --dn DN');
      if (directory !== undefined && dn !== undefined) {
        if (dn.trim() === '') throw new UsageError('--dn must not be empty');
        body.directory = checkRef(directory, '--directory');
        body.dn = dn;
      }
      return { method: 'POST', path: `${A}/user-groups`, body };
    },
    render: ru.userGroupChanged((g) => `Created user group ${g}.`),
  }),
  cmd({
    name: 'user-groups add-users', args: 'GROUP USER...', summary: 'Add people (sign-in names: user, user@domain or DOMAIN\\user) to a user group', answer: 'object',
    details: ['Names are normalised (lower case; DOMAIN\\user is stored as user@domain, or as user@DNS when a sign-in domain alias',
      'says which DNS domain DOMAIN stands for: devlic-admin sign-in-domains): see docs/design.md, "Sign-in names".'],
    build(a) {
      const [g, ...users] = take(a, ['GROUP'], 'USER');
      const body: UserGroupUsersBody = { users };
      return { method: 'POST', path: `${A}/user-groups/${seg(g)}/users`, body };
    },
    render: ru.userGroupChanged((g, b) => `Added ${ru.peopleCount(b)} to user group ${g}.`),
  }),
  guarded({
    name: 'user-groups remove-users', args: 'GROUP USER...', summary: 'Remove people from a user group', answer: 'object',
    details: ['People licensed only through this group lose their own licence (a device licence still covers them).'],
    build(a) {
      const [g, ...users] = take(a, ['GROUP'], 'USER');
      const body: UserGroupUsersBody = { users };
      return { method: 'POST', path: `${A}/user-groups/${seg(g)}/users/remove`, body };
    },
    render: ru.userGroupChanged((g, b) => `Removed ${ru.peopleCount(b)} from user group ${g}.`),
  }),
  cmd({
    name: 'user-groups rename', args: 'GROUP NEW-NAME', summary: 'Rename a user group (its id, members, directory link and licence stay)', answer: 'object',
    build(a) {
      const [g, name] = take(a, ['GROUP', 'NEW-NAME']);
      const body: UpdateUserGroupBody = { name };
      return { method: 'PATCH', path: `${A}/user-groups/${seg(g)}`, body };
    },
    render: ru.userGroupChanged((g) => `Renamed the user group to ${g}.`),
  }),
  cmd({
    name: 'user-groups delete', args: 'GROUP', summary: 'Delete a user group and its member list (nobody loses a licence)', answer: 'object',
    details: [
      'Refused (GROUP_HAS_LICENSES) while a subscription is assigned to it: unassign first',
      "('devlic-admin licenses unassign --subscription S --user-group G'). A directory group is not changed: devlic stops following it.",
    ],
    build: (a) => ({ method: 'DELETE', path: `${A}/user-groups/${seg(take(a, ['GROUP'])[0])}` }),
    render: renderDeleted('user group'),
  }),
];
