// Who this device is: the facts sent at enrollment. Sources (machine id,
// firmware data, OS) are injectable so tests do not depend on the machine
// they run on.
//
// Identity rules (the service matches a re-enrolling device by the pair
// machineIdHash + hardwareUuid):
// - machineIdHash = sha256("devlic-machine-id:" + OS machine id), hex. The
//   prefix keeps it unlinkable with other software's hashes of the same id.
// - Junk hardware UUIDs (empty, all-zero/all-F, repeated digit, the well-known
//   03000200-0400-0500-0006-000700080009 and friends, "Default string",
//   "To be filled by O.E.M.", ...) become '' so that VMs and cheap boards
//   sharing one value are NOT merged: then the machine id alone decides.
// - No machine id (some containers): a random id is generated once and kept
//   in the data dir, so the device is not split on every enrollment.
// - After enrollment the stored identity (identity.json) is authoritative; a
//   re-enrollment sends the stored machineIdHash/hardwareUuid again so the
//   service keeps the same device id even if a source changed meanwhile.
import { createHash, randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { DeviceFacts } from '../../shared/schemas/device.ts';
import { assertTrustedFile, writeFileAtomic } from './fsutil.ts';
import { toPlainText } from '../../shared/text.ts';

/** Raw values as the platform reports them, before normalisation. */
export interface RawIdentity {
  machineId: string | null;
  manufacturer: string;
  model: string;
  serial: string;
  hardwareUuid: string;
  os: string;
  hostname: string;
  /** Not sent at enrollment: the status reports carry it (os-version.ts). */
  osVersion?: string;
}

export type IdentitySource = () => Promise<RawIdentity>;

const JUNK_UUIDS = new Set([
  '03000200-0400-0500-0006-000700080009',
  '00020003-0004-0005-0006-000700080009',
  '12345678-1234-5678-90ab-cddeefaabbcc',
  '4c4c4544-0000-2010-8020-80c04f202020',
]);

const JUNK_TEXT = [
  'default string', 'to be filled by o.e.m.', 'to be filled by oem', 'not settable', 'not specified',
  'not applicable', 'none', 'null', 'n/a', 'na', '-', 'unknown', 'system serial number',
  'system product name', 'system manufacturer', 'chassis serial number', 'invalid', '0', 'o.e.m.', 'oem',
];

function isJunkText(v: string): boolean {
  const t = v.trim().toLowerCase();
  return t === '' || JUNK_TEXT.includes(t);
}

/** Normalises a hardware UUID: lower case, trimmed; junk and shared values become ''. */
export function normaliseHardwareUuid(raw: string | null | undefined): string {
  const v = (raw ?? '').trim().toLowerCase();
  if (isJunkText(v) || JUNK_UUIDS.has(v)) return '';
  const hex = v.replace(/[^0-9a-f]/g, '');
  // All-zero, all-F and any single repeated digit are placeholders, not identities.
  if (hex.length === 0 || /^(.)\1*$/.test(hex)) return '';
  if (!/^[0-9a-f-]{8,64}$/.test(v)) return '';
  return v;
}

/** Free-text fact: what the service's text rule refuses (control characters, ...) cleaned out, junk to '', bounded. */
export function normaliseText(raw: string | null | undefined, max = 128): string {
  const v = toPlainText(raw ?? '', Infinity);
  return isJunkText(v) ? '' : toPlainText(v, max);
}

/** A machine id worth hashing: not empty, not a placeholder. */
export function usableMachineId(raw: string | null | undefined): string | null {
  const v = (raw ?? '').trim().toLowerCase();
  if (v.length < 8) return null;
  const hex = v.replace(/[^0-9a-f]/g, '');
  if (hex.length > 0 && hex.length === v.replace(/-/g, '').length && /^(.)\1*$/.test(hex)) return null;
  if (isJunkText(v)) return null;
  return v;
}

export function hashMachineId(id: string): string {
  return createHash('sha256').update(`devlic-machine-id:${id}`).digest('hex');
}

/**
 * Builds DeviceFacts from raw values. `fallbackMachineId` supplies a persisted
 * random id when the platform has none.
 */
export function factsFromRaw(raw: RawIdentity, fallbackMachineId: () => string): DeviceFacts {
  const mid = usableMachineId(raw.machineId) ?? fallbackMachineId();
  return {
    machineIdHash: hashMachineId(mid),
    hardwareUuid: normaliseHardwareUuid(raw.hardwareUuid),
    hostname: normaliseText(raw.hostname, 255) || 'unknown-host',
    manufacturer: normaliseText(raw.manufacturer),
    model: normaliseText(raw.model),
    serial: normaliseText(raw.serial),
    os: normaliseText(raw.os),
  };
}

/** The real sources: node-machine-id and systeminformation. */
export const platformIdentity: IdentitySource = async () => {
  const [{ default: nmi }, { default: si }] = await Promise.all([import('node-machine-id'), import('systeminformation')]);
  const [machineId, system, os] = await Promise.all([
    nmi.machineId(true).catch(() => null),
    si.system().catch(() => ({ manufacturer: '', model: '', serial: '', uuid: '' })),
    si.osInfo().catch(() => ({ distro: '', release: '', platform: process.platform, hostname: '' })),
  ]);
  return {
    machineId,
    manufacturer: system.manufacturer,
    model: system.model,
    serial: system.serial,
    hardwareUuid: system.uuid,
    os: [os.distro, os.release].filter(Boolean).join(' ') || os.platform,
    hostname: os.hostname || osHostname(),
    osVersion: os.release,
  };
};

/**
 * Test hook: DEVLIC_FAKE_IDENTITY_FILE names a JSON file with RawIdentity
 * fields that replace the platform's values, so several agents on one test
 * machine can be distinct devices. Environment only, never config; the file
 * must be root- (or agent-user-) owned and not writable by others. Source
 * runs only: compiled out of release executables (release-build.d.ts).
 */
export function identitySourceFromEnv(env: NodeJS.ProcessEnv = process.env): IdentitySource {
  if (typeof DEVLIC_RELEASE_BUILD === 'undefined') {
    const file = env.DEVLIC_FAKE_IDENTITY_FILE;
    if (file) return fakeIdentitySource(file);
  }
  return platformIdentity;
}

function fakeIdentitySource(file: string): IdentitySource {
  return async () => {
    assertTrustedFile(file, 'DEVLIC_FAKE_IDENTITY_FILE');
    const over = JSON.parse(readFileSync(file, 'utf8')) as Partial<RawIdentity>;
    return {
      machineId: null, manufacturer: '', model: '', serial: '', hardwareUuid: '', os: 'test', hostname: 'test-host',
      ...over,
    };
  };
}

/** Reads (or creates once) the random machine id used when the platform has none. */
export function persistedFallbackId(path: string): () => string {
  return () => {
    try {
      const v = readFileSync(path, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(v)) return v;
    } catch { /* not created yet */ }
    const id = randomBytes(16).toString('hex');
    writeFileAtomic(path, id + '\n', 0o600);
    return id;
  };
}
