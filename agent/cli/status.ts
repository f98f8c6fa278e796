// `devlic-agent status [--json]`
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { collectStatus, formatStatus } from '../report/status.ts';
import { clockFromEnv } from '../decision/clock.ts';

export const statusCommand: Command = {
  summary: "show this device's licence mode, entitlement, sync state, users and enforcers",
  usage: `Usage: devlic-agent status [--json] [options]

Shows the device id and facts, the server, the mode the device is in and why,
the cached entitlement (product, subscription, group, expiry, warning date),
the last and next sync, who is signed in and what each enforcer applied.
Works offline and while the agent runs. Exits 1 on a device that is not
enrolled (the status is still printed, --json included, and the way to enroll
is said on stderr), so scripts can tell the two apart.

  --json           print as JSON
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(statusCommand, args, { json: { type: 'boolean' } });
    if (!p) return 0;
    const s = await collectStatus(configFrom(p.values), clockFromEnv());
    process.stdout.write(p.values.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    if (!s.enrolled) {
      process.stderr.write("devlic-agent: this device is not enrolled\n  enroll it: devlic-agent enroll --server URL --token T (an enroll token comes from 'devlic-admin enroll-tokens create')\n");
      return 1;
    }
    return 0;
  },
};
