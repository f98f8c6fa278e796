// Builds the Fastify application: strict schema validation from the shared
// TypeBox schemas (bodies are never coerced or silently trimmed), one error
// shape `{error: {code, message}}`, metrics, the OpenAPI document, and the
// route modules.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import { TypeBoxValidatorCompiler, registerAjvFormats, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DevlicError, type ErrorCode } from '../../shared/errors.ts';
import { API } from '../../shared/api.ts';
import type { Logger } from '../../shared/log.ts';
import type { Metrics } from './metrics.ts';
import { lazyRequestLogger } from './request-logger.ts';
import { API_HEADERS, withApiSecurityHeaders } from './security-headers.ts';
import type { ServerTimeouts } from './connection-limits.ts';
import { PLAIN_TEXT_PATTERN, PLAIN_TEXT_RULE } from '../../shared/schemas/common.ts';

export type App = ReturnType<typeof createBaseApp>;
// Route modules accept any Fastify instance: the logger and type-provider generics are not theirs to fix.
export type AnyApp = FastifyInstance<any, any, any, any, any>;

export function errorBody(code: ErrorCode | string, message: string, details?: Record<string, unknown>) {
  return { error: details ? { code, message, details } : { code, message } };
}

function describeValidation(err: FastifyError): string {
  const v = err.validation ?? [];
  const where = err.validationContext ?? 'request';
  const parts = v.slice(0, 3).map((e: any) => `${where}${e.instancePath || ''}: ${isPlainTextRule(e) ? PLAIN_TEXT_RULE : e.message}`);
  return `invalid ${where}: ${parts.join('; ')}`;
}

function isPlainTextRule(e: any): boolean {
  return e.keyword === 'pattern' && (e.params?.pattern === PLAIN_TEXT_PATTERN || e.schema?.pattern === PLAIN_TEXT_PATTERN);
}

/** Decodes strictly: invalid UTF-8 is refused, never replaced with U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface BaseAppOptions {
  logger: Logger;
  bodyLimit: number;
  metrics: Metrics;
  https?: { cert: Buffer; key: Buffer };
  timeouts?: ServerTimeouts;
  /** Addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed; none by default. */
  trustProxy?: string[];
}

export function createBaseApp(opts: BaseAppOptions) {
  registerAjvFormats();
  const t = opts.timeouts;
  // Passed to http(s).createServer: Node checks headersTimeout <= requestTimeout there, and the check interval can only be set there.
  const nodeServerOptions = t ? { requestTimeout: t.requestTimeoutMs, headersTimeout: t.headersTimeoutMs, connectionsCheckingInterval: t.checkIntervalMs } : {};
  const app = Fastify({
    loggerInstance: opts.logger,
    // Per-request log lines would dominate the journal (agents long-poll); metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    // So almost no request logs: its child logger is made only when a line is written (request-logger.ts).
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    // Errors raised before routing (e.g. a URL that is not valid percent-encoding) get the same error shape.
    frameworkErrors: (err, _req, reply) => {
      (reply as unknown as FastifyReply).headers(API_HEADERS).code(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).send(errorBody('BAD_REQUEST', err.message));
    },
    ...(opts.https ? { https: { ...opts.https, ...nodeServerOptions } } : { http: nodeServerOptions }),
    ...(t ? { requestTimeout: t.requestTimeoutMs, connectionTimeout: t.idleTimeoutMs, keepAliveTimeout: t.keepAliveTimeoutMs } : {}),
    // Off unless configured: otherwise anyone could pick their own address (and rate-limit key) with X-Forwarded-For.
    trustProxy: opts.trustProxy && opts.trustProxy.length > 0 ? opts.trustProxy : false,
  }).setValidatorCompiler(TypeBoxValidatorCompiler).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  // Fastify's own JSON parser decodes with replacement characters: a body that is not UTF-8 would pass, altered.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      const err = new DevlicError('BAD_REQUEST', 'request body is not valid UTF-8');
      done(err, undefined);
      return;
    }
    parseJson(req, text, done);
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DevlicError) {
      reply.code(err.httpStatus).send(errorBody(err.code, err.message, err.details));
    } else if (err.validation) {
      reply.code(400).send(errorBody('VALIDATION_FAILED', describeValidation(err)));
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // The limit of this route (device routes have their own), not the service-wide one.
      const limit = req.routeOptions.bodyLimit ?? opts.bodyLimit;
      reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE', `request body is larger than the ${limit} bytes allowed on ${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`));
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      reply.code(415).send(errorBody('BAD_REQUEST', 'request body must be application/json'));
    } else if (err.statusCode === 429) {
      reply.code(429).send(errorBody('RATE_LIMITED', err.message));
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      reply.code(err.statusCode).send(errorBody('BAD_REQUEST', err.message));
    } else {
      req.log.error({ err }, 'request failed');
      reply.code(500).send(errorBody('INTERNAL', 'internal error; the service log has the details'));
    }
  });
  app.setNotFoundHandler((req, reply) => {
    reply.headers(API_HEADERS).code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  // What a browser may do with our answers (the console sets its own; agents' routes go without).
  app.addHook('onRoute', withApiSecurityHeaders);

  // Metrics: latency of long-polls would measure the wait, not the service, so they are counted but not timed.
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.countRequest(req.method, route, reply.statusCode);
    if (!(req.query as any)?.wait) opts.metrics.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    done();
  });
  return app;
}

export async function registerPlugins(app: AnyApp): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => {
      const err = new DevlicError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`);
      (err as any).statusCode = 429;
      return err;
    },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'devlic licensing service', version: '1', description: 'Device-based licensing for shared laptops and tablets.' },
      components: {
        securitySchemes: {
          admin: { type: 'http', scheme: 'bearer', description: 'Admin token (global-admin or reader)' },
          device: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'DevlicDevice <JWT signed by the device key>' },
        },
      },
    },
  });
  app.get(API.openapi, { schema: { hide: true } }, async () => app.swagger());
}
