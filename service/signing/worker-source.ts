// The code of one signing worker thread, kept as a string: a single
// executable (Node SEA) cannot start a worker from a file inside itself, so
// the pool starts this with `new Worker(WORKER_SOURCE, { eval: true })`, which
// works the same from `node service/main.ts`, from tests and from the built
// devlic-server. Plain JavaScript with builtins only (process.getBuiltinModule
// needs no require or import, which an eval'd worker may lack).
//
// It makes exactly what signEntitlement (shared/token.ts) makes: the header
// is computed once by the pool with entitlementHeader() and handed over with
// the key; the payload is the claims' JSON (structured clone keeps their key
// order), base64url; the signature is Ed25519 over "header.payload". Ed25519
// is deterministic, so the tests assert the tokens are byte-for-byte equal.
//
// Messages in:  { type: 'key', kid, header, privateKey: KeyObject }
//               { type: 'sign', id, kid, claims: object[] }
// Messages out: { type: 'ready' } once, then { id, tokens } or { id, error }.
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { sign } = process.getBuiltinModule('node:crypto');
let key = null;
parentPort.on('message', (m) => {
  if (m.type === 'key') { key = m; return; }
  if (m.type !== 'sign') return;
  try {
    // The pool sends the key before any batch that needs it; a mismatch is a bug, never a wrong signature.
    if (!key || key.kid !== m.kid) throw new Error('this worker holds key ' + (key ? key.kid : '(none)') + ', the batch needs ' + m.kid);
    const tokens = new Array(m.claims.length);
    for (let i = 0; i < m.claims.length; i++) {
      const input = key.header + '.' + Buffer.from(JSON.stringify(m.claims[i])).toString('base64url');
      tokens[i] = input + '.' + sign(null, Buffer.from(input), key.privateKey).toString('base64url');
    }
    parentPort.postMessage({ id: m.id, tokens });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
parentPort.postMessage({ type: 'ready' });
`;
