// Builds binary utmp records (glibc x86-64 layout, 384 bytes) for tests.
export function utmpRecord(r: { type: number; pid?: number; line?: string; id?: string; user?: string; host?: string; timeMs?: number }, le = true): Buffer {
  const b = Buffer.alloc(384);
  if (le) { b.writeInt16LE(r.type, 0); b.writeInt32LE(r.pid ?? 0, 4); } else { b.writeInt16BE(r.type, 0); b.writeInt32BE(r.pid ?? 0, 4); }
  b.write(r.line ?? '', 8, 32, 'utf8');
  b.write(r.id ?? '', 40, 4, 'utf8');
  b.write(r.user ?? '', 44, 32, 'utf8');
  b.write(r.host ?? '', 76, 256, 'utf8');
  const ms = r.timeMs ?? 0;
  if (le) { b.writeInt32LE(Math.floor(ms / 1000), 340); b.writeInt32LE((ms % 1000) * 1000, 344); } else { b.writeInt32BE(Math.floor(ms / 1000), 340); b.writeInt32BE((ms % 1000) * 1000, 344); }
  return b;
}
