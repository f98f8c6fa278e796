// devlic-admin's `groups` commands (device groups: by hand, by rule or from a
// directory group; nesting; rule preview) and how each becomes one admin API
// request.
import { API } from '../../shared/api.ts';
import type {
  CreateGroupBody, GroupChildBody, GroupDevicesBody, GroupRuleBody, RulePreviewBody, UpdateGroupBody,
} from '../../shared/schemas/groups.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, seg, str, take } from './arguments.ts';
import { bool_, cmd, guarded, list, str_, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';
import { checkRule } from './rule-arg.ts';

const A = API.admin;

export const GROUP_COMMANDS: CommandSpec[] = [
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
];
