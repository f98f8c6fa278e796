// DEVLIC_LONGPOLL_ANSWER picks how held long-polls are answered; a misspelt
// value must stop the service rather than quietly pick a path.
import { expect, it } from 'vitest';
import { rawLongPollAnswers } from '../../service/http/raw-answer.ts';

it('answers raw by default and with raw, through Fastify only with fastify', () => {
  expect(rawLongPollAnswers({})).toBe(true);
  expect(rawLongPollAnswers({ DEVLIC_LONGPOLL_ANSWER: '' })).toBe(true);
  expect(rawLongPollAnswers({ DEVLIC_LONGPOLL_ANSWER: 'raw' })).toBe(true);
  expect(rawLongPollAnswers({ DEVLIC_LONGPOLL_ANSWER: 'fastify' })).toBe(false);
});

it('refuses any other value with a message that names the choices', () => {
  for (const v of ['Fastify', 'FASTIFY', 'true', '0', 'fastify ']) {
    expect(() => rawLongPollAnswers({ DEVLIC_LONGPOLL_ANSWER: v })).toThrow(expect.objectContaining({
      code: 'CONFIG_INVALID', message: `DEVLIC_LONGPOLL_ANSWER must be 'raw' or 'fastify' (got '${v}')`,
    }));
  }
});
