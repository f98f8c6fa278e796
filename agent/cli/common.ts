// Options every agent command takes (--data-dir, --config, --help) and the
// loading of configuration from them.
import { parse, UsageError, type Options } from '../../shared/cli.ts';
import { loadAgentConfig, type AgentConfig } from '../config.ts';

export const COMMON: Options = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
};

export const COMMON_HELP = `  --data-dir DIR   agent state (default /var/lib/devlic; config "dataDir")
  --config FILE    configuration file (default /etc/devlic/agent.json)
  -h, --help       this help`;

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}

/** Parses a command's arguments; returns null after printing help. */
export function parseCommand(cmd: Command, args: string[], options: Options, maxPositionals = 0):
  { values: Record<string, string | boolean | undefined>; positionals: string[] } | null {
  const parsed = parse(args, { ...COMMON, ...options });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(cmd.usage);
    return null;
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  return { values, positionals: parsed.positionals };
}

export function configFrom(values: Record<string, unknown>, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return loadAgentConfig({
    configFile: values.config as string | undefined,
    overrides: { dataDir: values['data-dir'] as string | undefined, ...overrides },
  });
}
