// The OS version the agent puts in its status reports, a fact group rules can
// name (`osVersion like "10.0.22*"`). It is what systeminformation's osInfo()
// calls the release (Windows 10.0.22631, macOS 14.5, Debian "12 (bookworm)"),
// the same call the enrollment fact `os` comes from. Read once per agent
// process, on its first report (osInfo runs programs, PowerShell on Windows):
// an OS upgrade restarts the machine and so the agent, which then reports the
// new version. The test hook is DEVLIC_FAKE_IDENTITY_FILE's `osVersion`
// (identity.ts), compiled out of release executables with it.
// Only systeminformation's osinfo module is loaded, not its index: the index
// evaluates every module of the package (CPU, graphics, network, Wi-Fi,
// Docker, Bluetooth vendor tables...), which the daemon then keeps for good
// (bench/README.md, issue 18 part 7).
import { identitySourceFromEnv, normaliseText, platformIdentity } from './identity.ts';

/** '' when the platform does not say. */
export type OsVersionSource = () => Promise<string>;

export function osVersionFromInfo(info: { release?: string | null }): string {
  const v = normaliseText(info.release);
  return v.toLowerCase() === 'unknown' ? '' : v;
}

export const platformOsVersion: OsVersionSource = async () => {
  const { osInfo } = await import('systeminformation/lib/osinfo.js');
  return osVersionFromInfo(await osInfo());
};

export function osVersionSourceFromEnv(env: NodeJS.ProcessEnv = process.env): OsVersionSource {
  const identity = identitySourceFromEnv(env);
  if (identity === platformIdentity) return platformOsVersion;
  return async () => normaliseText((await identity()).osVersion);
}

/**
 * The source asked once and remembered; a failure is not remembered (the
 * next report asks again) and reads as undefined: the report then leaves
 * the field out and the service keeps what it had.
 */
export function rememberedOsVersion(source: OsVersionSource, onError: (e: unknown) => void): () => Promise<string | undefined> {
  let known: Promise<string> | null = null;
  return async () => {
    known ??= source();
    try {
      return (await known) || undefined;
    } catch (e) {
      known = null;
      onError(e);
      return undefined;
    }
  };
}
