// The one configuration loader: documented defaults, overridden by an
// optional JSON file, overridden by command-line flags; the result is
// validated against the caller's schema so a typo fails at start-up with a
// message naming the field, not later at run time.
import { readFileSync } from 'node:fs';
import type { TSchema, Static } from 'typebox';
import { DevlicError } from './errors.ts';
import { validate } from './validate.ts';

export function loadConfig<T extends TSchema>(
  schema: T,
  defaults: Static<T>,
  opts: { file?: string; fileRequired?: boolean; overrides?: Partial<Static<T>> },
): Static<T> {
  let fromFile: Record<string, unknown> = {};
  if (opts.file) {
    let text: string | undefined;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || opts.fileRequired) {
        throw new DevlicError('CONFIG_INVALID', `cannot read config file ${opts.file}: ${(e as Error).message}`);
      }
    }
    if (text !== undefined) {
      try {
        fromFile = JSON.parse(text);
      } catch (e) {
        throw new DevlicError('CONFIG_INVALID', `config file ${opts.file} is not valid JSON: ${(e as Error).message}`);
      }
      // `null` or `3` would otherwise be ignored silently, and an array would be spread as fields "0", "1", ...
      if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) {
        throw new DevlicError('CONFIG_INVALID', `config file ${opts.file} must contain a JSON object of settings`);
      }
    }
  }
  const defined = Object.fromEntries(Object.entries(opts.overrides ?? {}).filter(([, v]) => v !== undefined));
  const merged = { ...(defaults as object), ...fromFile, ...defined };
  try {
    return validate(schema, merged, opts.file ? `configuration (${opts.file})` : 'configuration');
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', (e as Error).message);
  }
}
