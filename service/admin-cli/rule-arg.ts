// `--rule EXPR` is parsed here with the service's own parser, so a bad rule
// is refused before anything is sent: exit 2 with the column of the mistake.
import { UsageError } from '../../shared/cli.ts';
import { isDevlicError } from '../../shared/errors.ts';
import { parseRule } from '../../shared/rules/index.ts';

export function checkRule(rule: string): string {
  try {
    parseRule(rule);
  } catch (e) {
    if (isDevlicError(e)) throw new UsageError(`${e.message} [${e.code}]`);
    throw e;
  }
  return rule;
}
