// A text[] parameter for PostgreSQL built in one pass: JSON.stringify of the
// strings, its brackets swapped for braces. The pg driver builds the same
// literal element by element (two regex replaces and concatenations per
// string): 36-72 ms against 25-53 ms for a recompute's 100,000 device ids
// (bench/README.md, issue 12 sixth pass). JSON and PostgreSQL's array
// literal quote the same way (each element in double quotes, `"` and `\`
// escaped with a backslash) except for what JSON escapes otherwise (control
// characters, lone surrogates): for strings holding any of those, or any
// surrogate at all, null is returned and the caller passes the array as it
// is, for the driver to encode.

/** The array literal of `values` as the pg driver would send it, or null when the fast path does not apply. */
export function textArrayLiteral(values: readonly string[]): string | null {
  if (values.join('').match(/[\u0000-\u001f\ud800-\udfff]/)) return null;
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}

/**
 * A bigint[] parameter's literal for whole numbers and nulls (`{1,2,NULL}`),
 * built in one pass; the driver quotes each element (`{"1","2",NULL}`), which
 * PostgreSQL reads the same. Null when a value is not a safe integer: the
 * caller then passes the array for the driver to encode.
 */
export function intArrayLiteral(values: readonly (number | null)[]): string | null {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && !Number.isSafeInteger(v)) return null;
    out += i === 0 ? '' : ',';
    out += v === null ? 'NULL' : String(v);
  }
  return `${out}}`;
}
