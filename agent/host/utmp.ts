// Parser for the Linux utmp file (/var/run/utmp), glibc's `struct utmp` on
// 64-bit platforms: 384-byte records.
//   off   0 int16  ut_type (USER_PROCESS = 7, DEAD_PROCESS = 8), 2 pad bytes
//   off   4 int32  ut_pid
//   off   8 char[32]  ut_line (tty / seat, e.g. "tty2", "pts/0", ":0")
//   off  40 char[4]   ut_id
//   off  44 char[32]  ut_user
//   off  76 char[256] ut_host
//   off 332 int16[2]  ut_exit
//   off 336 int32     ut_session
//   off 340 int32[2]  ut_tv (seconds, microseconds; 32-bit even on 64-bit glibc)
//   off 348 int32[4]  ut_addr_v6, then 20 unused bytes
// Strings are NUL-padded, not necessarily NUL-terminated. Integers are in the
// machine's byte order.
import { endianness } from 'node:os';

export const UTMP_RECORD_SIZE = 384;
export const USER_PROCESS = 7;
export const DEAD_PROCESS = 8;

export interface UtmpRecord {
  type: number;
  pid: number;
  line: string;
  id: string;
  user: string;
  host: string;
  /** ut_tv in milliseconds. */
  timeMs: number;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

export function parseUtmp(buf: Buffer, littleEndian = endianness() === 'LE'): UtmpRecord[] {
  const out: UtmpRecord[] = [];
  // A trailing partial record (file being written) is ignored.
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.length; off += UTMP_RECORD_SIZE) {
    const r = buf.subarray(off, off + UTMP_RECORD_SIZE);
    const i16 = (o: number) => (littleEndian ? r.readInt16LE(o) : r.readInt16BE(o));
    const i32 = (o: number) => (littleEndian ? r.readInt32LE(o) : r.readInt32BE(o));
    const u32 = (o: number) => (littleEndian ? r.readUInt32LE(o) : r.readUInt32BE(o));
    out.push({
      type: i16(0),
      pid: i32(4),
      line: cstr(r, 8, 32),
      id: cstr(r, 40, 4),
      user: cstr(r, 44, 32),
      host: cstr(r, 76, 256),
      timeMs: u32(340) * 1000 + Math.floor(u32(344) / 1000),
    });
  }
  return out;
}

export interface SignedIn {
  user: string;
  line: string;
  host: string;
  sinceMs: number;
}

/** People signed in now: USER_PROCESS records with a user name, one per (user, line). */
export function signedIn(records: UtmpRecord[]): SignedIn[] {
  const seen = new Map<string, SignedIn>();
  for (const r of records) {
    if (r.type !== USER_PROCESS || r.user === '') continue;
    seen.set(`${r.user}\u0000${r.line}`, { user: r.user, line: r.line, host: r.host, sinceMs: r.timeMs });
  }
  return [...seen.values()];
}
