// What one devlic-admin command is (its usage, options, request builder and
// renderer) and the helpers that build the common kinds: a plain list, a
// command, and a guarded change that takes --yes. The table itself is in
// commands.ts.
import { API } from '../../shared/api.ts';
import type { Options } from '../../shared/cli.ts';
import { take } from './arguments.ts';
import type * as r from './render.ts';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One call of the admin API: `path` is absolute from the server root and includes any query. */
export interface ApiRequest {
  method: Method;
  path: string;
  body?: unknown;
  /** The answer is text to print as it is (CSV), not JSON. */
  raw?: boolean;
}

/** The parsed arguments after the command words (global flags removed). */
export interface CommandArgs {
  positionals: string[];
  values: Record<string, unknown>;
}

export interface CommandSpec {
  /** The command words, e.g. "groups add-devices". */
  name: string;
  /** Positional arguments for the usage line, e.g. "GROUP DEVICE...". */
  args: string;
  summary: string;
  /** Extra help lines. */
  details?: string[];
  options: Options;
  /** Help for each option: [flag with its value, description, required?]. */
  optionHelp: Array<[string, string, boolean?]>;
  /** `items`: a list endpoint, `--json` prints its items array; `object`: prints the object. */
  answer: 'items' | 'object';
  /** The change may make devices read-only: takes --yes, and asks (TTY) or refuses (exit 2) without it. */
  guarded?: boolean;
  build(a: CommandArgs): ApiRequest;
  render(data: unknown, ctx: r.RenderContext): string;
}

const A = API.admin;

export const str_ = { type: 'string' } as const;
export const bool_ = { type: 'boolean' } as const;

export function list(name: string, path: string, summary: string, render: (d: never, ctx: r.RenderContext) => string): CommandSpec {
  return {
    name, args: '', summary, options: {}, optionHelp: [], answer: 'items',
    build: (a) => (take(a, []), { method: 'GET', path: A + path }),
    render: render as CommandSpec['render'],
  };
}

export type Spec = Omit<CommandSpec, 'render' | 'options' | 'optionHelp' | 'args'> & {
  args?: string;
  options?: Options;
  optionHelp?: Array<[string, string, boolean?]>;
  render: (d: never, ctx: r.RenderContext) => string;
};

export function cmd(s: Spec): CommandSpec {
  return { args: '', options: {}, optionHelp: [], ...s, render: s.render as CommandSpec['render'] };
}

const GUARD_DETAILS = [
  'If this makes devices read-only or takes people\'s user licence, the service says how many and nothing',
  'changes unless you confirm: --yes, or answer y when asked (only on a terminal). Without it: exit 2, nothing changed.',
];

/** A change that may make devices read-only: --yes sends `confirm: true`. */
export function guarded(s: Spec): CommandSpec {
  const c = cmd(s);
  return {
    ...c, guarded: true,
    details: [...(c.details ?? []), ...GUARD_DETAILS],
    options: { ...c.options, yes: bool_ },
    optionHelp: [...c.optionHelp, ['--yes', 'go ahead even if devices go read-only or people lose their licence']],
    build(a) {
      const { yes, ...values } = a.values;
      const req = c.build({ ...a, values });
      return yes ? withConfirm(req) : req;
    },
  };
}

/** The same request, confirmed. */
export function withConfirm(req: ApiRequest): ApiRequest {
  return { ...req, body: { ...((req.body as object | undefined) ?? {}), confirm: true } };
}
