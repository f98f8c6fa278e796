// What both test proxies do when they let a request through: pass it to the
// real service with the headers the protocol uses, copy back the answer's
// status, body and protocol headers, and hand every genuine 200 entitlement
// answer to `record` (tests replay them later). A service that is gone
// answers 502, as a gateway would.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const isEntitlement = (req: IncomingMessage): boolean => req.url!.startsWith('/v1/device/entitlement');

export async function forward(target: string, req: IncomingMessage, res: ServerResponse, body: Buffer[],
  record: (answer: { token: string; seq: number }) => void): Promise<void> {
  const headers: Record<string, string> = {};
  for (const h of ['authorization', 'if-none-match', 'content-type', 'accept']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  try {
    const r = await fetch(target + req.url, { method: req.method, headers, body: body.length ? Buffer.concat(body) : undefined });
    const text = await r.text();
    const out: Record<string, string> = {};
    for (const h of ['content-type', 'etag', 'date', 'retry-after']) {
      const v = r.headers.get(h);
      if (v) out[h] = v;
    }
    if (isEntitlement(req) && r.status === 200) record(JSON.parse(text));
    res.writeHead(r.status, out);
    res.end(text);
  } catch {
    if (!res.destroyed) {
      res.writeHead(502);
      res.end();
    }
  }
}
