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
import { API_HEADERS, withApiSecurityHeaders } from './security-headers.ts';

export type App = ReturnType<typeof createBaseApp>;
// Route modules accept any Fastify instance: the logger and type-provider generics are not theirs to fix.
export type AnyApp = FastifyInstance<any, any, any, any, any>;

export function errorBody(code: ErrorCode | string, message: string, details?: Record<string, unknown>) {
  return { error: details ? { code, message, details } : { code, message } };
}

function describeValidation(err: FastifyError): string {
  const v = err.validation ?? [];
  const where = err.validationContext ?? 'request';
  const parts = v.slice(0, 3).map((e: any) => `${where}${e.instancePath || ''}: ${e.message}`);
  return `invalid ${where}: ${parts.join('; ')}`;
}

export function createBaseApp(opts: { logger: Logger; bodyLimit: number; metrics: Metrics; https?: { cert: Buffer; key: Buffer } }) {
  registerAjvFormats();
  const app = Fastify({
    loggerInstance: opts.logger,
    // Per-request log lines would dominate the journal (agents long-poll); metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    // Errors raised before routing (e.g. a URL that is not valid percent-encoding) get the same error shape.
    frameworkErrors: (err, _req, reply) => {
      (reply as unknown as FastifyReply).headers(API_HEADERS).code(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).send(errorBody('BAD_REQUEST', err.message));
    },
    ...(opts.https ? { https: opts.https } : {}),
  }).setValidatorCompiler(TypeBoxValidatorCompiler).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DevlicError) {
      reply.code(err.httpStatus).send(errorBody(err.code, err.message, err.details));
    } else if (err.validation) {
      reply.code(400).send(errorBody('VALIDATION_FAILED', describeValidation(err)));
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE', `request body is larger than the ${opts.bodyLimit} bytes allowed`));
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
    opts.metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
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
