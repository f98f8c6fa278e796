// Build-time change to node-cron (issue 18, agent memory): node-cron reads
// the local date and time through Intl.DateTimeFormat even when a task has no
// time zone, which is every devlic task. The first Intl.DateTimeFormat makes
// V8 load ICU's locale and time-zone data and code: about 10 MB of resident
// memory that an idle agent keeps for good (bench/README.md, issue 18 part 5).
// For a task without a time zone the same parts come from Date's local-time
// methods, which need none of that. Tasks with a time zone keep node-cron's
// own formatter. Pure text in, text out: the bundle plugin applies it, and
// the build fails if node-cron's code no longer looks as expected.

/**
 * Stand-ins for the two formatters node-cron makes with no time zone, giving
 * the parts it reads in the same form: weekday "Mon", 2-digit month, day,
 * hour (00-23), minute, second, numeric year; and the offset as
 * `shortOffset` writes it ("GMT", "GMT+1", "GMT-3:30").
 */
export const LOCAL_TIME_JS = `
const __devlicLocalParts = { formatToParts(date) {
  const p = (n) => String(n).padStart(2, '0');
  return [
    { type: 'weekday', value: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getDay()] },
    { type: 'month', value: p(date.getMonth() + 1) },
    { type: 'day', value: p(date.getDate()) },
    { type: 'year', value: String(date.getFullYear()) },
    { type: 'hour', value: p(date.getHours()) },
    { type: 'minute', value: p(date.getMinutes()) },
    { type: 'second', value: p(date.getSeconds()) },
  ];
} };
const __devlicLocalOffset = { formatToParts(date) {
  const o = -date.getTimezoneOffset(), a = Math.abs(o);
  const value = o === 0 ? 'GMT' : 'GMT' + (o < 0 ? '-' : '+') + Math.floor(a / 60) + (a % 60 ? ':' + String(a % 60).padStart(2, '0') : '');
  return [{ type: 'timeZoneName', value }];
} };
`;

const PARTS = 'function getPartsFormatter(timezone) {';
const OFFSET = 'function getOffsetFormatter(timezone) {';

export class CronPatchError extends Error {
  readonly code = 'CRON_PATCH_MISMATCH';
}

/** True for node-cron's module that holds the formatters (ESM and CommonJS builds). */
export function isNodeCronShared(path: string): boolean {
  return /node_modules[\\/]node-cron[\\/]dist[\\/]_shared\.c?js$/.test(path);
}

/** node-cron's _shared module with the local-time stand-ins used when a task has no time zone. */
export function patchNodeCron(source: string): string {
  for (const anchor of [PARTS, OFFSET]) {
    if (source.split(anchor).length !== 2) {
      throw new CronPatchError(`node-cron changed: expected one "${anchor}" in its _shared module; review installer/build/cron-local-time.ts`);
    }
  }
  return source
    .replace(PARTS, `${LOCAL_TIME_JS}\n${PARTS}\n    if (!timezone) return __devlicLocalParts;`)
    .replace(OFFSET, `${OFFSET}\n    if (!timezone) return __devlicLocalOffset;`);
}
