// The response headers that tell a browser what it may do with what this
// service sends. The console gets a strict Content-Security-Policy with
// Trusted Types (only our own scripts and styles, nothing inline, no HTML
// parsing of strings, no framing); every other answer (the admin API's JSON,
// errors, 404s that echo the requested path) gets a policy under which a
// browser opening it directly runs and loads nothing. Device-protocol routes
// are left bare: only agents read them, and they are the hot path.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

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

/**
 * onRequest hook: set before routing and body parsing, so refusals (400, 401,
 * 404, 413, 415, 429) carry the headers as well; the console's routes replace
 * them with CONSOLE_HEADERS.
 */
export function apiSecurityHeaders(req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (!isDeviceProtocol(req.url)) reply.headers(API_HEADERS);
  done();
}
