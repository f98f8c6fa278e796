// devlic-agent: entry point and command dispatch. Exit codes follow the shared
// contract: 0 ok, 1 failure (with what to do), 2 wrong usage.
import { runCli, UsageError } from '../shared/cli.ts';
import { stderrText } from '../shared/journal.ts';
import type { Command } from './cli/common.ts';
import { AgentError } from './errors.ts';
import { AGENT_VERSION } from './version.ts';

// Each command is imported only when chosen: a static import of all six
// would load the HTTP client (undici), the enforcers and enrollment code into
// every `--version`, `status` and `logs` (issue 18: that was most of their
// start-up time and memory). esbuild keeps these modules lazy in the single
// executable's bundle; test/agent/lazy-load.test.ts guards it.
const COMMANDS: Record<string, () => Promise<Command>> = {
  enroll: async () => (await import('./cli/enroll.ts')).enrollCommand,
  run: async () => (await import('./cli/run.ts')).runCommand,
  status: async () => (await import('./cli/status.ts')).statusCommand,
  logs: async () => (await import('./cli/logs.ts')).logsCommand,
  refresh: async () => (await import('./cli/refresh.ts')).refreshCommand,
  doctor: async () => (await import('./cli/doctor.ts')).doctorCommand,
};

/** Handled by installer/agent-entry.ts before this module runs; reached only when started without it. */
const ELSEWHERE = ['install', 'uninstall'];

/** The overview needs every command's summary, so it (and only it) loads them all. */
async function usage(): Promise<string> {
  const summaries = await Promise.all(Object.entries(COMMANDS).map(async ([k, load]) => [k, (await load()).summary] as const));
  const w = Math.max(...[...Object.keys(COMMANDS), ...ELSEWHERE].map((k) => k.length)) + 2;
  return `Usage: devlic-agent <command> [options]

Device agent of devlic (device-based licensing). Commands:
${summaries.map(([k, summary]) => `  ${k.padEnd(w)}${summary}`).join('\n')}
  ${'install'.padEnd(w)}install as a system service (root): copy, configure, enroll, start
  ${'uninstall'.padEnd(w)}stop and remove the service; --purge also removes data and keys

Every command takes --data-dir DIR, --config FILE and --help.
'devlic-agent <command> --help' describes one command.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? rest[0] : undefined;
    process.stdout.write(sub && Object.hasOwn(COMMANDS, sub) ? (await COMMANDS[sub]()).usage : await usage());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  if (ELSEWHERE.includes(name)) {
    process.stderr.write(`devlic-agent: '${name}' is not part of this build; use the devlic installer package.\n`);
    return 1;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  try {
    return (await (await load()).run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof AgentError) {
      process.stderr.write(stderrText('devlic-agent', `devlic-agent: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`));
      return 1;
    }
    throw e;
  }
}

await runCli('devlic-agent', () => main(process.argv.slice(2)));
