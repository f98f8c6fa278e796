// The fleet as CSV (devlic-admin devices list --csv, GET /v1/admin/devices.csv,
// the console's Export CSV): RFC 4180 (CRLF lines, quotes doubled, fields with
// a comma, quote or line break quoted) and safe to open in a spreadsheet: a
// cell that starts like a formula (= + - @, or a tab / carriage return that
// some spreadsheets skip before one) gets a leading ' so it is shown as text,
// never run. Hostnames and user names come from devices, not from admins.
import type { DeviceView } from '../../shared/schemas/fleet.ts';
import { DEVICE_CSV_COLUMNS } from '../../shared/schemas/fleet.ts';

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: neutralised, then quoted when RFC 4180 needs it. */
export function csvCell(value: string): string {
  const v = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(cells: string[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

/** Whether the device is doing what the service says: its last report's mode against its seat. */
export function enforcementOf(d: DeviceView): string {
  if (!d.lastMode) return 'never reported';
  const expected = d.licensed ? 'full' : 'read-only';
  if (d.lastMode !== expected) return `pending (reports ${d.lastMode})`;
  if (d.enforcement?.ok === false) return `not enforced (${d.enforcement.failing.map((f) => `${f.enforcer}: ${f.reason}`).join('; ')})`;
  // An agent that does not report its enforcers: the mode matches, whether the apps follow it is not known.
  if (d.enforcement?.ok !== true) return 'mode reported, enforcement unknown';
  return 'in effect';
}

export function deviceCsvRow(d: DeviceView): string[] {
  const seat = d.licensed ? `${d.reason} (${d.subscription?.name ?? d.product ?? ''})` : d.reason;
  return [
    d.name,
    d.groups.map((g) => g.name).join('; '),
    d.retired ? `${seat}; retired ${d.retired.at} by ${d.retired.by.name}` : seat,
    d.lastMode ?? '',
    enforcementOf(d),
    d.users.map((u) => u.name).join(' '),
    d.agentVersion ?? '',
    d.lastSeenAt ?? 'never',
  ];
}

export function devicesCsv(devices: Iterable<DeviceView>): string {
  let out = csvLine([...DEVICE_CSV_COLUMNS]);
  for (const d of devices) out += csvLine(deviceCsvRow(d));
  return out;
}
