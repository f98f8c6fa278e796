// What an app integration exports so the registry (registry.ts) can list it:
// its name, the schema of its config entry (the one source of its config
// type), how to build its enforcer, and which folders it writes outside the
// agent's data folder (the installer opens those in the service sandbox).
// Modelled on balena-supervisor's list of config backends.
import Type from 'typebox';
import type { Enforcer } from './types.ts';

/** What the agent gives every enforcer it builds. */
export interface EnforcerContext {
  dataDir: string;
  platform?: NodeJS.Platform;
  log?: (event: string, fields: object) => void;
}

export interface EnforcerDescriptor<S extends Type.TSchema = Type.TSchema> {
  /** The `name` of its entries in the config's `apps`; the schema holds the same literal. */
  readonly name: string;
  /** One `apps` entry: an object with `name: Type.Literal(name)` and additionalProperties false. */
  readonly schema: S;
  create(cfg: Type.Static<S>, ctx: EnforcerContext & { platform: NodeJS.Platform }): Enforcer;
  /**
   * Folders this entry writes besides the data folder (absolute POSIX paths),
   * which a sandboxed service (systemd ReadWritePaths) must leave writable.
   * Missing folders are fine: the installer marks them optional.
   */
  writablePaths(cfg: Type.Static<S>, platform: NodeJS.Platform): string[] | Promise<string[]>;
}

/** The static type of a descriptor's config entry. */
export type ConfigOf<D> = D extends EnforcerDescriptor<infer S> ? Type.Static<S> : never;

/** Checks at compile time that the descriptor's name is its schema's `name` literal. */
export function defineEnforcer<S extends Type.TSchema, const N extends string>(
  d: EnforcerDescriptor<S> & { name: N } & (Type.Static<S> extends { name: N } ? unknown : { nameMismatch: never }),
): EnforcerDescriptor<S> & { name: N } {
  return d;
}

// Field types several apps share.
/**
 * Absolute POSIX path or Windows drive path; no control characters. The
 * description of a required field names it in the installer's messages.
 */
export function absPath(description?: string) {
  return Type.String({ minLength: 2, maxLength: 1024, pattern: '^(/|[A-Za-z]:\\\\)[^\\u0000-\\u001f]*$', ...(description ? { description } : {}) });
}
export const AbsPath = absPath();
export const TimeoutMs = Type.Integer({ minimum: 100, maximum: 600_000 });
