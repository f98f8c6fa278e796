// The pure parts of the lifecycle work, without processes: seat allocation
// for retired devices, the CSV export (RFC 4180 and formula neutralising),
// durations that must carry a unit, the retireStaleAfter setting, the
// impact message, and devlic-admin's argv → request mapping of the new
// commands (including --yes → confirm: true).
import { describe, expect, it } from 'vitest';
import { allocateSeats, type AllocInput } from '../../service/licensing/allocate.ts';
import { csvCell, csvLine, devicesCsv, enforcementOf } from '../../service/licensing/csv.ts';
import { describeImpact } from '../../service/licensing/context.ts';
import { retireStaleSeconds } from '../../service/config.ts';
import { parseDuration, UsageError } from '../../shared/cli.ts';
import type { DeviceView } from '../../shared/schemas/fleet.ts';
import { parseInvocation } from '../../service/admin-cli/args.ts';
import { renderImpact } from '../../service/admin-cli/render.ts';

const NOW = Date.UTC(2026, 0, 1);

describe('allocation with retired devices', () => {
  const fleet = (retired: string[], disabled: string[] = []): AllocInput => ({
    now: NOW,
    subscriptions: [{ id: 's1', productSku: 'P', seats: 2, termEnd: null, suspended: false, ord: 1 }],
    assignments: [{ subscriptionId: 's1', groupId: 'g' }],
    edges: [],
    memberships: ['d1', 'd2', 'd3'].map((d, i) => ({ groupId: 'g', deviceId: d, ord: i + 1 })),
    devices: ['d1', 'd2', 'd3'].map((id) => ({ id, disabled: disabled.includes(id), retired: retired.includes(id) })),
  });

  it('a retired device holds no seat: the next in membership order gets it', () => {
    const r = allocateSeats(fleet(['d1']));
    expect(r.devices.get('d1')).toEqual({ status: 'unlicensed', reason: 'DEVICE_RETIRED', product: null, subscription: null, group: null });
    expect(r.devices.get('d2')?.status).toBe('licensed');
    expect(r.devices.get('d3')?.status).toBe('licensed');
    expect(r.subscriptions.get('s1')).toMatchObject({ seatsUsed: 2, seatsExhausted: 0 });
  });

  it('retired wins over disabled as the reason, and is not counted as exhausted', () => {
    const r = allocateSeats(fleet(['d1', 'd2'], ['d1']));
    expect(r.devices.get('d1')?.reason).toBe('DEVICE_RETIRED');
    expect(r.devices.get('d2')?.reason).toBe('DEVICE_RETIRED');
    expect(r.subscriptions.get('s1')).toMatchObject({ seatsUsed: 1, seatsExhausted: 0 });
  });

  it('without retired devices nothing changes (the field is optional)', () => {
    const input = fleet([]);
    const plain = { ...input, devices: input.devices.map(({ id, disabled }) => ({ id, disabled })) };
    expect([...allocateSeats(plain).devices]).toEqual([...allocateSeats(input).devices]);
  });
});

describe('CSV', () => {
  it('neutralises every cell a spreadsheet would run as a formula', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(csvCell(c).replace(/^"/, '').startsWith("'")).toBe(true);
    for (const c of ['laptop-01', 'a=b', '1-2', 'alice@example']) expect(csvCell(c)).toBe(c);
  });

  it('quotes per RFC 4180: commas, quotes and line breaks, quotes doubled', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvLine(['a', '', 'b'])).toBe('a,,b\r\n');
  });

  const device = (over: Partial<DeviceView>): DeviceView => ({
    id: 'dev_1', name: 'laptop-01', groups: [{ id: 'g1', name: 'Lab' }, { id: 'g2', name: 'Carts' }], licensed: true, reason: 'ASSIGNED',
    product: 'P', subscription: { id: 's', name: 'EA' }, licenseGroup: { id: 'g1', name: 'Lab' }, entitlementSeq: 1, disabled: false,
    lastMode: 'full', lastReason: 'ASSIGNED', lastSeenAt: '2026-01-01T00:00:00.000Z', users: [{ name: 'alice', mode: 'full' }, { name: 'bob', mode: 'full' }],
    agentVersion: '0.1.0', cacheExpiresAt: null, enforcement: { ok: true, failing: [] }, enrolledAt: '2025-12-01T00:00:00.000Z', duplicateOf: null, retired: null, ...over,
  });

  it('has the columns admins asked for, one row per device', () => {
    const text = devicesCsv([device({}), device({ name: 'old', licensed: false, reason: 'DEVICE_RETIRED', lastMode: 'full', users: [],
      retired: { at: '2026-01-02T00:00:00.000Z', by: { id: 'system', name: 'devlic-server' }, reason: 'stale' } })]);
    expect(text).toBe('hostname,group,seat,mode,enforcement,users,agent version,last seen\r\n'
      + 'laptop-01,Lab; Carts,ASSIGNED (EA),full,in effect,alice bob,0.1.0,2026-01-01T00:00:00.000Z\r\n'
      + 'old,Lab; Carts,DEVICE_RETIRED; retired 2026-01-02T00:00:00.000Z by devlic-server,full,pending (reports full),,0.1.0,2026-01-01T00:00:00.000Z\r\n');
  });

  it('says whether the device does what the service says', () => {
    expect(enforcementOf(device({ lastMode: null }))).toBe('never reported');
    expect(enforcementOf(device({ licensed: false, lastMode: 'read-only' }))).toBe('in effect');
    expect(enforcementOf(device({ licensed: true, lastMode: 'read-only' }))).toBe('pending (reports read-only)');
    const failing = { ok: false, failing: [{ enforcer: 'libreoffice', reason: 'LibreOffice 7.4 lacks ViewerAppMode' }] };
    expect(enforcementOf(device({ licensed: false, lastMode: 'read-only', enforcement: failing }))).toBe('not enforced (libreoffice: LibreOffice 7.4 lacks ViewerAppMode)');
    expect(enforcementOf(device({ licensed: false, lastMode: 'read-only', enforcement: { ok: null, failing: [] } }))).toBe('mode reported, enforcement unknown');
  });
});

describe('durations need a unit', () => {
  it('parses 90s, 15m, 1h, 7d, 2w and refuses a bare number with a hint', () => {
    expect([parseDuration('90s'), parseDuration('15m'), parseDuration('1h'), parseDuration('7d'), parseDuration('2w')]).toEqual([90, 900, 3600, 604800, 1209600]);
    expect(() => parseDuration('90')).toThrow(/duration '90' needs a unit: 90s, 90m, 90h or 90d/);
    for (const bad of ['', 'd', '1.5h', '-1d', '7 days', '1e3s']) expect(() => parseDuration(bad), bad).toThrow(UsageError);
  });

  it('retireStaleAfter: off by default, a unit required, at least 1h', () => {
    expect(retireStaleSeconds(null)).toBeNull();
    expect(retireStaleSeconds('off')).toBeNull();
    expect(retireStaleSeconds('60d')).toBe(60 * 86400);
    expect(retireStaleSeconds('1h')).toBe(3600);
    expect(() => retireStaleSeconds('60')).toThrow(/needs a unit/);
    expect(() => retireStaleSeconds('59m')).toThrow(/shorter than 1h/);
  });
});

describe('impact messages', () => {
  const impact = { devices: 23, devicesGainingSeat: 1, sample: Array.from({ length: 20 }, (_, i) => ({ id: `dev_${i}`, name: `laptop-${i}` })) };
  it('service: counts, three names and the rest', () => {
    expect(describeImpact(impact)).toBe('23 devices go read-only (laptop-0, laptop-1, laptop-2 and 20 more); 1 device gets a seat');
    expect(describeImpact({ devices: 1, devicesGainingSeat: 0, sample: [{ id: 'd', name: 'x' }] })).toBe('1 device goes read-only (x)');
  });
  it('devlic-admin: up to ten names', () => {
    expect(renderImpact(impact)).toBe('This makes 23 devices read-only: laptop-0, laptop-1, laptop-2, laptop-3, laptop-4, laptop-5, laptop-6, laptop-7, laptop-8, laptop-9, and 13 more.\n1 other device gets a seat.\n');
  });
  it('people (issue 16): only people when no device moves, both when both do', () => {
    const people = { devices: 0, devicesGainingSeat: 0, sample: [], people: 12, peopleGainingSeat: 1, peopleSample: Array.from({ length: 12 }, (_, i) => `p${i}@corp`) };
    expect(describeImpact(people)).toBe('12 people lose their user licence (p0@corp, p1@corp, p2@corp and 9 more); 1 person gets one');
    expect(renderImpact(people)).toBe('This takes the user licence from 12 people: p0@corp, p1@corp, p2@corp, p3@corp, p4@corp, p5@corp, p6@corp, p7@corp, p8@corp, p9@corp, and 2 more.\n1 other person gets one.\n');
    const one = { devices: 0, devicesGainingSeat: 0, sample: [], people: 1, peopleGainingSeat: 0, peopleSample: ['bob@contoso'] };
    expect(renderImpact(one)).toBe('This takes the user licence from 1 person: bob@contoso.\n');
    expect(describeImpact({ ...impact, people: 1, peopleGainingSeat: 0, peopleSample: ['bob@contoso'] })).toBe('23 devices go read-only (laptop-0, laptop-1, laptop-2 and 20 more); 1 device gets a seat; 1 person loses their user licence (bob@contoso)');
    expect(renderImpact({ ...impact, people: 1, peopleGainingSeat: 0, peopleSample: ['bob@contoso'] })).toMatch(/^This makes 23 devices read-only: .*\n1 other device gets a seat\.\nThis takes the user licence from 1 person: bob@contoso\.\n$/);
  });
});

describe('devlic-admin: the new commands become these requests', () => {
  const env = { DEVLIC_ADMIN_TOKEN: 't' };
  const req = (line: string) => {
    const inv = parseInvocation(line.split(' '), env);
    if (inv.kind !== 'call') throw new Error(line);
    return inv.request;
  };
  it.each([
    ['admins revoke adm_1', 'POST', '/v1/admin/admins/adm_1/revoke', {}],
    ['enroll-tokens revoke enr_1', 'POST', '/v1/admin/enroll-tokens/enr_1/revoke', {}],
    ['devices retire dev_1', 'POST', '/v1/admin/devices/dev_1/retire', {}],
    ['devices retire dev_1 --yes', 'POST', '/v1/admin/devices/dev_1/retire', { confirm: true }],
    ['devices restore dev_1 --yes', 'POST', '/v1/admin/devices/dev_1/restore', { confirm: true }],
    ['devices delete dev_1', 'DELETE', '/v1/admin/devices/dev_1', undefined],
    ['groups rename Lab Lab2', 'PATCH', '/v1/admin/groups/Lab', { name: 'Lab2' }],
    ['groups delete Lab', 'DELETE', '/v1/admin/groups/Lab', undefined],
    ['groups delete Lab --yes', 'DELETE', '/v1/admin/groups/Lab', { confirm: true }],
    ['subscriptions update EA --name EA2', 'PATCH', '/v1/admin/subscriptions/EA', { name: 'EA2' }],
    ['licenses unassign --subscription EA --group Lab --yes', 'POST', '/v1/admin/licenses/unassign', { subscription: 'EA', group: 'Lab', confirm: true }],
    ['groups remove-devices Lab d1 --yes', 'POST', '/v1/admin/groups/Lab/devices/remove', { devices: ['d1'], confirm: true }],
    ['devices list --stale 30d', 'GET', '/v1/admin/devices?staleMinutes=43200', undefined],
    ['devices list --retired --csv', 'GET', '/v1/admin/devices.csv?retired=true', undefined],
    ['devices list --in-service', 'GET', '/v1/admin/devices?retired=false', undefined],
    ['audit list --actor ops --action device. --target dev_1', 'GET', '/v1/admin/audit?actor=ops&action=device.&target=dev_1', undefined],
  ])('%s', (line, method, path, body) => {
    expect(req(line)).toMatchObject({ method, path });
    expect(req(line).body).toEqual(body);
  });

  it('refuses --yes on commands that make nobody read-only, and a bare --stale number', () => {
    expect(() => req('admins revoke adm_1 --yes')).toThrow(/unknown option '--yes'/);
    expect(() => req('devices list --stale 30')).toThrow(/needs a unit/);
    expect(() => req('devices list --retired --in-service')).toThrow(/not both/);
  });
});
