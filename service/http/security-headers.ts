// The response headers that tell a browser what it may do with what this
// service sends. The console gets a strict Content-Security-Policy with
// Trusted Types (only our own scripts and styles, nothing inline, no HTML
// parsing of strings, no framing); every other answer (the admin API's JSON,
// errors, 404s that echo the requested path) gets a policy under which a
// browser opening it directly runs and loads nothing. Device-protocol routes
// are left bare: only agents read them, and they are the hot path.
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  // Trusted Types with no policy: the browser itself refuses innerHTML/outerHTML/document.write with strings,
  // so "never parse data as HTML" is enforced at run time, not only by review.
  "require-trusted-types-for 'script'", "trusted-types 'none'",
].join('; ');

/** For answers that are data, not pages: nothing may run, load, be framed or be submitted from them. */
export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox";

const COMMON: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Another site can neither embed our responses (no-cors reads) nor keep a handle on the console's window.
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export const CONSOLE_HEADERS: Record<string, string> = { 'Content-Security-Policy': CONSOLE_CSP, ...COMMON };
export const API_HEADERS: Record<string, string> = { 'Content-Security-Policy': API_CSP, ...COMMON };

/** Paths only the agent speaks (enrollment, entitlement long-polls, status, key set). */
export function isDeviceProtocol(url: string): boolean {
  return url.startsWith('/v1/device/') || url.startsWith('/v1/enroll') || url.startsWith('/.well-known/');
}

/** Sets the API headers on the way out; the console's routes set CONSOLE_HEADERS instead. */
export function apiSecurityHeaders(_req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  if (!reply.hasHeader('content-security-policy')) reply.headers(API_HEADERS);
  done(null, payload);
}

/**
 * onRoute hook: gives every route but the device protocol's an onSend hook
 * that sets the API headers. onSend runs for every answer of the route,
 * refusals included (an auth hook's 401, 400, 413, 415, 429); attaching it per
 * route rather than app-wide keeps the agents' 304 long-poll path free of it.
 * Answers without a route (404, unparsable URL) set them where they are made.
 */
export function withApiSecurityHeaders(route: RouteOptions): void {
  if (isDeviceProtocol(route.url)) return;
  const own = route.onSend ? [route.onSend].flat() : [];
  route.onSend = [...own, apiSecurityHeaders];
}
