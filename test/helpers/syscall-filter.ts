// systemd's system call groups (`systemd-analyze syscall-filter`) and what a
// unit's SystemCallFilter= lines allow, so a test can apply a unit's filter
// to a process without systemd (test/installer/sandbox-run.test.ts).

/** Parses `systemd-analyze syscall-filter` output: group -> members (calls and @groups). */
export function parseSyscallGroups(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (raw.startsWith('@')) {
      current = [];
      groups.set(line, current);
    } else if (current) {
      current.push(line);
    }
  }
  return groups;
}

/** The system calls a group or call name stands for, groups expanded recursively. */
export function expand(name: string, groups: Map<string, string[]>, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (!name.startsWith('@')) return out.add(name);
  if (seen.has(name)) return out;
  seen.add(name);
  const members = groups.get(name);
  if (!members) throw new Error(`unknown system call group ${name}`);
  for (const m of members) for (const c of expand(m, groups, seen)) out.add(c);
  return out;
}

/**
 * The calls a unit's SystemCallFilter= lines allow, in systemd's terms: the
 * first line without `~` is the allow list; a later `~` line takes its
 * entries out of it. Only that shape (an allow list first) is supported.
 */
export function allowedCalls(unit: string, groups: Map<string, string[]>): Set<string> {
  const lines = unit.split('\n').filter((l) => l.startsWith('SystemCallFilter=')).map((l) => l.slice('SystemCallFilter='.length).trim());
  if (!lines.length || lines[0].startsWith('~')) throw new Error('the unit has no SystemCallFilter= allow list');
  const allowed = new Set<string>();
  for (const line of lines) {
    const deny = line.startsWith('~');
    for (const name of (deny ? line.slice(1) : line).split(/\s+/).filter(Boolean)) {
      for (const c of expand(name, groups)) {
        if (deny) allowed.delete(c);
        else allowed.add(c);
      }
    }
  }
  return allowed;
}
