// Serves the admin console (service/console: plain ES modules and CSS, no
// build step) at `/` and `/console/...`, from this service itself: no CDN, no
// second server. The files are listed once at start-up; a request is looked up
// in that list by its exact relative path and never joined onto a filesystem
// path, so `..`, encoded slashes or symlinks cannot reach anything else.
// Every console response carries a strict Content-Security-Policy with Trusted
// Types (security-headers.ts): only our own scripts and styles run, nothing
// inline, no framing, no HTML sinks.
import { readdirSync, readFileSync } from 'node:fs';
import { getAsset, getAssetKeys, isSea } from 'node:sea';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyReply } from 'fastify';
import type { AnyApp } from './app.ts';
import { errorBody } from './app.ts';
import { CONSOLE_HEADERS } from './security-headers.ts';
import { CONSOLE_REASONS_PATH, consoleReasonsModule } from './console-reasons.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const SECURITY_HEADERS: Record<string, string> = {
  ...CONSOLE_HEADERS,
  // The console changes with the service; revalidating costs little on a LAN.
  'Cache-Control': 'no-cache',
};

interface Asset { type: string; body: Buffer }

/** Regular files under `dir` with a known type, keyed by their '/'-separated relative path. */
export function listAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    // Symlinks are not followed: they could point outside the folder.
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const type = TYPES[extname(e.name).toLowerCase()];
    if (!type) continue;
    const full = join(e.parentPath, e.name);
    const rel = relative(dir, full).split(sep).join('/');
    if (rel.split('/').some((p) => p.startsWith('.'))) continue;
    // Read once: the assets are small, and serving from memory keeps requests off the disk.
    out.set(rel, { type, body: readFileSync(full) });
  }
  return out;
}

/** In the single executable the build embeds service/console/** as assets named `console/...`. */
function seaAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const key of getAssetKeys()) {
    if (!key.startsWith('console/')) continue;
    const type = TYPES[extname(key).toLowerCase()];
    if (type) out.set(key.slice('console/'.length), { type, body: Buffer.from(getAsset(key)) });
  }
  return out;
}

export async function consoleRoutes(app: AnyApp, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? join(import.meta.dirname, '..', 'console');
  const assets = !opts.dir && isSea() ? seaAssets() : listAssets(dir);
  if (!assets.has('index.html')) app.log.warn({ dir }, 'admin console assets not found; / will answer 404');
  // Generated, not on disk: the reason labels from shared/reasons.ts.
  assets.set(CONSOLE_REASONS_PATH, { type: TYPES['.js'], body: Buffer.from(consoleReasonsModule()) });

  const send = (reply: FastifyReply, path: string) => {
    reply.headers(SECURITY_HEADERS);
    const a = assets.get(path);
    if (!a) return reply.code(404).type('application/json; charset=utf-8').send(errorBody('NOT_FOUND', `no console file '${path}'`));
    return reply.type(a.type).send(a.body);
  };
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => send(reply, 'index.html'));
  app.get('/console', hide, async (_req, reply) => reply.redirect('/', 302));
  app.get('/console/*', hide, async (req, reply) => send(reply, (req.params as { '*': string })['*'] || 'index.html'));
}
