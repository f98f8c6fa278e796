// Result types as the portable rules of store/sql.ts want them: int8 and
// numeric (COUNT, SUM, identity columns) as JS numbers, booleans (EXISTS,
// comparisons) as 0/1 like SQLite. Installed per pool, not with pg.types'
// global setTypeParser, so other pg users in the process are unaffected.
import pg from 'pg';
import { DevlicError } from '../../../shared/errors.ts';

const INT8 = 20;
const NUMERIC = 1700;
const BOOL = 16;

function int8(text: string): number {
  const n = Number(text);
  // A silently rounded id or count would be worse than a loud failure.
  if (!Number.isSafeInteger(n)) throw new DevlicError('INTERNAL', `integer ${text} is beyond JavaScript's safe range`);
  return n;
}

export const portableTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      if (oid === INT8) return int8;
      if (oid === NUMERIC) return (text: string) => Number(text);
      if (oid === BOOL) return (text: string) => (text === 't' ? 1 : 0);
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
