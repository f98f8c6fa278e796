// devlic-admin's `enroll-tokens` commands (the secrets agents enroll with)
// and how each becomes one admin API request.
import { API } from '../../shared/api.ts';
import type { CreateEnrollTokenBody } from '../../shared/schemas/enroll-tokens.ts';
import { checkRef, count, parseExpires, seg, str, take } from './arguments.ts';
import { cmd, list, str_, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';

const A = API.admin;

export const ENROLL_TOKEN_COMMANDS: CommandSpec[] = [
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
];
