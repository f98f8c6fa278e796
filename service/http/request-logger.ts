// Request loggers made on first use. Fastify gives every request a child of
// the service's logger (pino's child(): bindings serialised, an object made);
// with request logging off (app.ts) almost no request ever logs, yet that
// child was about 5 % of the event loop answering a wake of thousands of
// long-polls, and of every 304 poll. This stand-in has the logger's methods
// and makes the real child, with the same bindings and options, the first
// time a line at an enabled level is written through it.
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from '../../shared/log.ts';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Args = Parameters<FastifyBaseLogger['info']>;

class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;
  private readonly parent: Logger;
  private readonly bindings: Record<string, unknown>;
  private readonly opts: { level?: string };

  constructor(parent: Logger, bindings: Record<string, unknown>, opts: { level?: string }) {
    this.parent = parent;
    this.bindings = bindings;
    this.opts = opts;
  }

  private real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts) as FastifyBaseLogger);
  }

  /** A line at `level` would be written: the child then has to exist (a route's own level is the child's to judge). */
  private wants(level: Level): boolean {
    return this.made !== undefined || this.opts.level !== undefined || this.parent.isLevelEnabled(level);
  }

  get level(): string {
    return this.made ? this.made.level : (this.opts.level ?? this.parent.level);
  }

  set level(level: string) {
    this.real().level = level;
  }

  fatal(...a: Args): void { if (this.wants('fatal')) this.real().fatal(...a); }
  error(...a: Args): void { if (this.wants('error')) this.real().error(...a); }
  warn(...a: Args): void { if (this.wants('warn')) this.real().warn(...a); }
  info(...a: Args): void { if (this.wants('info')) this.real().info(...a); }
  debug(...a: Args): void { if (this.wants('debug')) this.real().debug(...a); }
  trace(...a: Args): void { if (this.wants('trace')) this.real().trace(...a); }
  silent(): void {}
  child(bindings: Record<string, unknown>, opts?: object): FastifyBaseLogger {
    return this.real().child(bindings, opts);
  }
}

/** Fastify's childLoggerFactory: the request's logger, made when first used. */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object): FastifyBaseLogger {
  return new LazyRequestLogger(parent as Logger, bindings, opts as { level?: string }) as unknown as FastifyBaseLogger;
}
