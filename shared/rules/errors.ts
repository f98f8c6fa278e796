// The one error shape of the rule language: a DevlicError with code
// RULE_INVALID, a message that starts with "rule:" and ends with the column,
// and the column in details for programs (console highlighting).
import { DevlicError } from '../errors.ts';

export function ruleError(what: string, column: number): DevlicError {
  return new DevlicError('RULE_INVALID', `rule: ${what}`, { column });
}
