// Who is signed in on Windows: one entry per interactive session, named
// DOMAIN\user. systeminformation.users() is not enough there: it asks for the
// owner of the FIRST explorer.exe only and drops the domain, so with fast
// user switching a second person signed in is missed (and kept neither
// read-only nor licensed per person), and `alice` never matches a user
// licence held by `alice@corp.example.com` / `CORP\alice`. Here every
// explorer.exe's owner is read (its session id and start time too) by one
// fixed PowerShell script: nothing in it comes from input, and it is passed
// as -EncodedCommand so no command-line quoting is involved.
//
// Starting PowerShell costs far more CPU than the question needs, and the
// watcher asks every sessionPollSeconds (15 s; Windows has no utmp to
// watch). So each poll first runs qwinsta.exe (query session: a small native
// program over the Terminal Services API) as the mark of session-gate.ts:
// unchanged sessions, users and states mean nobody signed in or out, and the
// list read last time stands. Only when its output differs, it fails, or the
// last full read is 5 minutes old does PowerShell run. qwinsta's output is
// localised and never parsed, only compared. (Not measured here: no Windows. A PowerShell
// start is typically a few hundred ms of CPU, qwinsta a few tens.)
import { win32 } from 'node:path';
import { describeFailure, runFile } from '../../shared/run.ts';
import type { SignedIn } from './utmp.ts';
import type { SessionSource } from './sessions.ts';
import { gatedSource } from './session-gate.ts';

/** The script: a JSON array (also for 0 or 1 session) of {user, domain, session, since}. */
export const SESSIONS_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  "$list = @(Get-CimInstance -ClassName Win32_Process -Filter \"Name='explorer.exe'\" | ForEach-Object {",
  "  $o = Invoke-CimMethod -InputObject $_ -MethodName GetOwner",
  "  if ($o.ReturnValue -eq 0) { [pscustomobject]@{ user = $o.User; domain = $o.Domain; session = [int]$_.SessionId; since = $_.CreationDate.ToUniversalTime().ToString('o') } }",
  '})',
  'ConvertTo-Json -Compress -Depth 2 -InputObject $list',
].join('\n');

/** PowerShell's -EncodedCommand: the script as base64 of UTF-16LE. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

export function powershellArgs(): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeCommand(SESSIONS_SCRIPT)];
}

export function defaultPowershell(): string {
  return win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe');
}

/**
 * The script's output as sessions. Session 0 (services) is not a person's.
 * One person in two sessions is two sessions (each signs out on its own).
 * Anything that is not the expected shape is an error, never "nobody is
 * signed in": the caller keeps the sessions it knew.
 */
export function parseWindowsSessions(stdout: string): SignedIn[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  } catch {
    throw new Error(`the session list is not JSON: ${stdout.slice(0, 120)}`);
  }
  const items = Array.isArray(data) ? data : [data];
  const out: SignedIn[] = [];
  const seen = new Set<string>();
  for (const it of items) {
    if (!it || typeof it !== 'object') throw new Error('a session entry is not an object');
    const { user, domain, session, since } = it as Record<string, unknown>;
    if (typeof user !== 'string' || user.trim() === '') throw new Error('a session entry has no user name');
    if (domain !== null && domain !== undefined && typeof domain !== 'string') throw new Error(`session entry of '${user}': domain is not text`);
    if (typeof session !== 'number' || !Number.isInteger(session) || session < 0) throw new Error(`session entry of '${user}': no session id`);
    if (session === 0) continue;
    const name = typeof domain === 'string' && domain.trim() !== '' ? `${domain.trim()}\\${user.trim()}` : user.trim();
    const line = `session ${session}`;
    const key = `${name.toLowerCase()}\u0000${line}`;
    if (seen.has(key)) continue; // a second explorer.exe in one session
    seen.add(key);
    const ms = typeof since === 'string' ? Date.parse(since) : Number.NaN;
    out.push({ user: name, line, host: '', sinceMs: Number.isNaN(ms) ? 0 : ms });
  }
  return out;
}

export function defaultQwinsta(): string {
  return win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'qwinsta.exe');
}

export function windowsSessionsSource(powershell: string = defaultPowershell(), timeoutMs = 30_000,
  opts: { qwinsta?: string | null; fullEveryMs?: number; now?: () => number } = {}): SessionSource {
  const qwinsta = opts.qwinsta === undefined ? defaultQwinsta() : opts.qwinsta;
  const full: SessionSource = async () => {
    const r = await runFile(powershell, powershellArgs(), { timeoutMs });
    if (r.code !== 0) throw new Error(describeFailure('listing Windows sessions (powershell.exe)', r, timeoutMs));
    return parseWindowsSessions(r.stdout);
  };
  return gatedSource(full, async () => (qwinsta === null ? null : sessionMark(qwinsta)), opts);
}

/** qwinsta's whole output, or null when it cannot say (missing, failed, slow): then the full read runs. */
async function sessionMark(qwinsta: string): Promise<string | null> {
  try {
    const r = await runFile(qwinsta, [], { timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout : null;
  } catch {
    return null;
  }
}
