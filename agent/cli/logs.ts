// `devlic-agent logs [--since 1h] [--json] [--follow]`: the agent's event log
// (syncs, mode changes, sign-ins, errors) from its database.
import { parseDuration } from '../../shared/cli.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { agentPaths } from '../config.ts';
import { openDbReadOnly } from '../store/db.ts';
import { Store, type EventRow } from '../store/store.ts';
import { clockFromEnv } from '../decision/clock.ts';
import { AgentError } from '../errors.ts';
import { EVENT_TYPES, isNoOpSync, logFilter, shows } from './log-filter.ts';

function formatEvent(e: EventRow): string {
  const fields = e.fields ? Object.entries(e.fields).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`).join(' ') : '';
  return `${new Date(e.at).toISOString()}  ${e.type.padEnd(14)} ${(e.reason ?? '').padEnd(22)} ${fields}`.trimEnd();
}

export const logsCommand: Command = {
  summary: "show the agent's event log",
  usage: `Usage: devlic-agent logs [--since 1h] [--type TYPE] [--all] [--json] [--follow] [options]

Shows what the agent did: syncs, mode changes, warnings, sign-ins and
sign-outs, enrollments and errors, oldest first. Syncs that changed nothing
(the service confirmed the cached entitlement, one every poll) are left out
unless --all is given.

  --since DURATION  only events newer than this (e.g. 30m, 1h, 7d; default 24h)
  --type TYPE       only events of this type, one of:
                    ${EVENT_TYPES.join(', ')}
  --all             also show syncs that changed nothing (sync UNCHANGED)
  --json            one JSON object per line
  -f, --follow      keep printing new events until interrupted
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(logsCommand, args, {
      since: { type: 'string' }, json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' }, type: { type: 'string' }, all: { type: 'boolean' },
    });
    if (!p) return 0;
    const v = p.values;
    const sinceS = parseDuration((v.since as string | undefined) ?? '24h');
    const filter = logFilter(v.type as string | undefined, v.all === true);
    const cfg = configFrom(v);
    const clock = clockFromEnv();
    const db = openDbReadOnly(agentPaths(cfg.dataDir).db);
    if (!db) throw new AgentError(`no agent database in ${cfg.dataDir}`, "enroll first ('devlic-agent enroll') or pass the right --data-dir");
    const store = new Store(db);
    let hidden = 0;
    const print = (rows: EventRow[]) => {
      for (const e of rows) {
        if (!shows(filter, e)) {
          if (isNoOpSync(e)) hidden++;
          continue;
        }
        process.stdout.write((v.json
          ? JSON.stringify({ id: e.id, at: new Date(e.at).toISOString(), type: e.type, reason: e.reason, fields: e.fields ?? {} })
          : formatEvent(e)) + '\n');
      }
    };
    let last = 0;
    const rows = store.events({ sinceMs: clock.now() - sinceS * 1000 });
    print(rows);
    // On stderr, so stdout stays one event (or JSON object) per line.
    if (hidden > 0 && !v.json) process.stderr.write(`(${hidden} sync${hidden === 1 ? '' : 's'} that changed nothing not shown; --all shows them)\n`);
    last = rows.at(-1)?.id ?? last;
    if (!v.follow) {
      store.close();
      return 0;
    }
    if (last === 0) last = (store.events({ sinceMs: 0 }).at(-1)?.id) ?? 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const more = store.events({ afterId: last });
        print(more);
        last = more.at(-1)?.id ?? last;
      }, 500);
      const end = () => {
        clearInterval(timer);
        resolve();
      };
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
      process.stdout.once('error', end);
    });
    store.close();
    return 0;
  },
};
