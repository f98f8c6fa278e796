// devlic-admin's human output of the commands (device lists and details,
// products, unassign, new tokens) and the hints it gives for the service's
// error codes. Pure, no service.
import { describe, expect, it } from 'vitest';
import type { Product } from '../../shared/schemas/subscriptions.ts';
import type { UnassignResult } from '../../shared/schemas/assignments.ts';
import type { DeviceView } from '../../shared/schemas/fleet.ts';
import type { EnrollToken } from '../../shared/schemas/enroll-tokens.ts';
import type { Admin } from '../../shared/schemas/admins.ts';
import { hintFor } from '../../service/admin-cli/client.ts';
import { renderAdminCreated, renderEnrollTokenCreated, renderProducts, renderUnassigned } from '../../service/admin-cli/render.ts';
import { renderDevice, renderDevices, renderMerged } from '../../service/admin-cli/render-devices.ts';

const NOW = new Date('2026-05-01T12:00:00Z');

describe('human output', () => {
  const ctx = { now: NOW, server: 'http://127.0.0.1:8470' };

  const device = (over: Partial<DeviceView>): DeviceView => ({
    id: 'dev_1', name: 'laptop-01', groups: [{ id: 'grp_1', name: 'Lab' }], licensed: true, reason: 'ASSIGNED',
    product: 'M365-DEV', subscription: { id: 'sub_1', name: 'EA' }, licenseGroup: { id: 'grp_1', name: 'Lab' },
    entitlementSeq: 4, disabled: false, lastMode: 'full', lastReason: 'ASSIGNED', lastSeenAt: '2026-05-01T11:59:48Z',
    users: [{ name: 'alice', mode: 'full' }, { name: 'bob', mode: 'full' }], agentVersion: '0.1.0',
    cacheExpiresAt: null, enforcement: { ok: true, failing: [] }, enrolledAt: '2026-04-01T00:00:00Z', duplicateOf: null, retired: null, ...over,
  });

  it('lists devices with seat, reason, last mode, enforced, relative last seen and users', () => {
    const out = renderDevices({
      items: [
        device({}),
        device({ id: 'dev_2', name: 'tablet-7', groups: [], licensed: false, reason: 'NOT_IN_LICENSED_GROUP', lastMode: null, lastSeenAt: null, users: [], enforcement: { ok: null, failing: [] } }),
        device({ id: 'dev_3', name: 'lab-3', enforcement: { ok: false, failing: [{ enforcer: 'libreoffice', reason: 'too old' }, { enforcer: 'hook', reason: 'exit 1' }] } }),
      ],
      total: 3,
    }, ctx);
    const lines = out.trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['ID', 'NAME', 'GROUPS', 'SEAT', 'REASON', 'LAST MODE', 'ENFORCED', 'LAST SEEN', 'USERS']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['dev_1', 'laptop-01', 'Lab', 'yes', 'ASSIGNED', 'full', 'yes', '12s ago', 'alice, bob']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['dev_2', 'tablet-7', '-', 'no', 'NOT_IN_LICENSED_GROUP', '-', 'unknown', 'never', '-']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['dev_3', 'lab-3', 'Lab', 'yes', 'ASSIGNED', 'full', 'NO (libreoffice, hook)', '12s ago', 'alice, bob']);
    expect(lines).toHaveLength(4);
    // Every column starts at the same offset on every line.
    expect(lines[1].indexOf('yes')).toBe(lines[0].indexOf('SEAT'));
    expect(lines[2].indexOf('never')).toBe(lines[0].indexOf('LAST SEEN'));
  });

  it('shows a possible duplicate with the merge command, hashed identifiers as such, and a merge', () => {
    const facts = { machineIdHash: 'sha256:0123456789ab', hardwareUuid: 'sha256:ba9876543210', serial: 'sha256:aaaabbbbcccc', hostname: 'lap', manufacturer: 'M', model: 'X', os: 'Linux', redacted: true };
    const out = renderDevice({ ...device({ id: 'dev_new', duplicateOf: { id: 'dev_old', name: 'laptop-01' } }), facts, tags: [], osVersion: '10.0.22631', lastError: null, reports: [] }, ctx);
    expect(out).toMatch(/OS version: +10\.0\.22631/);
    expect(out).toMatch(/Possible duplicate of: +laptop-01 \(dev_old\).*devlic-admin devices merge dev_new dev_old/);
    expect(out).toMatch(/Serial: +sha256:aaaabbbbcccc/);
    expect(out).toMatch(/Identifiers: +shown as short hashes/);
    expect(renderDevice({ ...device({}), facts: { ...facts, redacted: false }, tags: [], osVersion: null, lastError: null, reports: [] }, ctx)).not.toMatch(/Identifiers|duplicate/);
    // Who signed in, with the licence each used and, where a sign-in domain alias maps the name, the person it is.
    const users = [{ name: 'corp\\alice', mode: 'full' as const, licence: 'user' as const, person: 'alice@corp.example.com' }, { name: 'bob', mode: 'read-only' as const, licence: null }];
    expect(renderDevice({ ...device({ users }), facts, tags: [], osVersion: null, lastError: null, reports: [] }, ctx))
      .toMatch(/Users: +corp\\alice \(full, user licence, as alice@corp\.example\.com\), bob \(read-only\)\n/);
    const merged = renderMerged({ id: 'dev_old', retired: 'dev_new', device: device({ id: 'dev_old', name: 'laptop-01' }) }, ctx);
    expect(merged).toMatch(/^Merged device dev_new into 'laptop-01' \(dev_old\): it keeps its groups and seat/);
  });

  it('says when a device page is not the whole fleet', () => {
    const out = renderDevices({ items: [device({})], total: 40 }, ctx);
    expect(out).toContain('Showing 1 of 40 devices; use --offset');
    // With the next page's cursor, the note gives it as --after.
    expect(renderDevices({ items: [device({})], total: 40, next: 'WyJhIiwiYiJd' }, ctx)).toContain('Showing 1 of 40 devices; next page: --after WyJhIiwiYiJd.');
    expect(renderDevices({ items: [], total: 0 }, ctx)).toBe('No devices.\n');
    // A page by --after repeats the first page's total: the note says when it was counted.
    const later = renderDevices({ items: [device({})], total: 40, totalAsOf: '2026-12-03T08:41:00.000Z', next: 'x' }, ctx);
    expect(later).toMatch(/Showing 1 of 40 devices \(total as counted at .*2026.*, on the first page\); next page: --after x\./);
    expect(renderDevices({ items: [device({})], total: 40, totalAsOf: null }, ctx)).not.toContain('counted');
  });

  it('lists products with seat counts', () => {
    const p: Product = { id: 'prd_1', sku: 'M365-DEV', name: 'Microsoft 365 Apps for enterprise (device)', channel: 'EA', seatsTotal: 20, seatsAssigned: 3, seatsAvailable: 17 };
    const lines = renderProducts({ items: [p], total: 1 }).trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['SKU', 'NAME', 'CHANNEL', 'TOTAL', 'ASSIGNED', 'AVAILABLE']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['M365-DEV', 'Microsoft 365 Apps for enterprise (device)', 'EA', '20', '3', '17']);
  });

  it('says how many devices lost their licence on unassign', () => {
    const r: UnassignResult = { id: 'asg_1', subscription: { id: 'sub_1', name: 'EA' }, group: { id: 'grp_1', name: 'Lab' }, devicesAffected: 20 };
    expect(renderUnassigned(r)).toContain('20 devices lost their licence');
    expect(renderUnassigned({ ...r, devicesAffected: 1 })).toContain('1 device lost its licence');
  });

  it('shows a new enrollment token once, with the agent command that uses it', () => {
    const t: EnrollToken = { id: 'enr_1', expiresAt: '2026-05-08T12:00:00Z', usesLeft: 20, status: 'active', revokedAt: null, revokedBy: null, group: null, createdAt: '2026-05-01T12:00:00Z', token: 'dlenr_abc123' };
    const out = renderEnrollTokenCreated(t, ctx);
    expect(out).toMatch(/shown only once/);
    expect(out).toContain('\n    dlenr_abc123\n');
    expect(out).toContain('devlic-agent enroll --server http://127.0.0.1:8470 --token dlenr_abc123');
    expect(out).toContain('in 7d');
  });

  it('shows a new admin token once', () => {
    const a: Admin = { id: 'adm_2', name: 'helpdesk', role: 'reader', createdAt: '2026-05-01T12:00:00Z', revokedAt: null, revokedBy: null, token: 'dladm_xyz' };
    const out = renderAdminCreated(a);
    expect(out).toContain('\n    dladm_xyz\n');
    expect(out).toMatch(/Role:\s+reader/);
  });

  it('hints what to do for the service error codes', () => {
    expect(hintFor('FORBIDDEN', 403)).toMatch(/global-admin/);
    expect(hintFor('AMBIGUOUS_NAME', 409)).toMatch(/id/);
    expect(hintFor('DIRECTORY_FAILED', 502)).toMatch(/No membership was changed/);
    expect(hintFor('GROUP_ALREADY_LICENSED', 409)).toMatch(/unassign/);
    expect(hintFor('INTERNAL', 500)).toMatch(/log/);
    expect(hintFor('VALIDATION_FAILED', 400)).toBeUndefined();
  });
});
