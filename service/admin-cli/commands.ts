// The table of devlic-admin commands, in the order of the usage text: each
// aggregate's commands live in their own <aggregate>-commands.ts (usage,
// options, how the arguments become one admin API request, how the answer is
// shown). Building a request is pure and throws UsageError on bad input
// (exit 2), so the whole argv → request mapping is testable without a server.
import type { CommandSpec } from './command-spec.ts';
import { SUBSCRIPTION_COMMANDS } from './subscription-commands.ts';
import { GROUP_COMMANDS } from './group-commands.ts';
import { LICENSE_COMMANDS } from './license-commands.ts';
import { USER_GROUP_COMMANDS } from './user-group-commands.ts';
import { SIGN_IN_DOMAIN_COMMANDS } from './sign-in-domain-commands.ts';
import { DEVICE_COMMANDS } from './device-commands.ts';
import { ENROLL_TOKEN_COMMANDS } from './enroll-token-commands.ts';
import { ADMIN_COMMANDS } from './admin-commands.ts';
import { DIRECTORY_COMMANDS } from './directory-commands.ts';

export const COMMANDS: CommandSpec[] = [
  ...SUBSCRIPTION_COMMANDS,
  ...GROUP_COMMANDS,
  ...LICENSE_COMMANDS,
  ...USER_GROUP_COMMANDS,
  ...SIGN_IN_DOMAIN_COMMANDS,
  ...DEVICE_COMMANDS,
  ...ENROLL_TOKEN_COMMANDS,
  ...ADMIN_COMMANDS,
  ...DIRECTORY_COMMANDS,
];

/** The command nouns in the order of the usage text. */
export const NOUNS: string[] = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))];

export function findCommand(noun: string, verb: string | undefined): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === (verb === undefined ? noun : `${noun} ${verb}`));
}

export function commandsOf(noun: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.split(' ')[0] === noun);
}
