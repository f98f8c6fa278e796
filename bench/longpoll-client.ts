// Load-generator worker for bench/longpolls.ts: holds one raw HTTP/1.1
// long-poll per device (a socket each, as real agents would), and reports
// to the parent how many are waiting and when each was answered.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

const [, , port, file, from, to] = process.argv;
const devices = (JSON.parse(readFileSync(file, 'utf8')) as { token: string }[]).slice(Number(from), Number(to));
const answeredAt: number[] = [];
let connected = 0, errors = 0, notModified = 0;
const sockets: Socket[] = [];

function request(token: string, etag?: string): string {
  return `GET /v1/device/entitlement${etag ? '?wait=240' : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: DevlicDevice ${token}\r\n`
    + (etag ? `If-None-Match: ${etag}\r\n` : '') + '\r\n';
}

// Like an agent: fetch the current entitlement once (its ETag), then hold a long-poll with it.
function open(token: string): void {
  const s = connect({ host: '127.0.0.1', port: Number(port) });
  sockets.push(s);
  let buf = Buffer.alloc(0);
  let phase: 'first' | 'waiting' | 'done' = 'first';
  s.setNoDelay(true);
  s.on('connect', () => { connected++; s.write(request(token)); });
  s.on('data', (d) => {
    if (phase === 'waiting') {
      const status = d.toString('latin1', 9, 12);
      if (status === '200') answeredAt.push(Date.now());
      else if (status === '304') notModified++;
      else errors++;
      phase = 'done';
      return;
    }
    if (phase !== 'first') return;
    buf = Buffer.concat([buf, d]);
    const head = buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    const headers = buf.toString('latin1', 0, head);
    const len = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    if (buf.length < head + 4 + len) return;
    const etag = /etag: ("[^"]*")/i.exec(headers)?.[1];
    if (!headers.startsWith('HTTP/1.1 200') || !etag) { errors++; phase = 'done'; return; }
    phase = 'waiting';
    s.write(request(token, etag));
  });
  s.on('error', () => { errors++; });
}

let i = 0;
// Open in small batches so the accept queue is not overrun.
const timer = setInterval(() => {
  for (let k = 0; k < 500 && i < devices.length; k++, i++) open(devices[i].token);
  if (i >= devices.length) clearInterval(timer);
}, 20);

setInterval(() => process.send!({ connected, answered: answeredAt.length, notModified, errors }), 200);
process.on('message', (m: string) => {
  if (m === 'report') process.send!({ done: true, answeredAt, errors, notModified });
  if (m === 'exit') { for (const s of sockets) s.destroy(); process.exit(0); }
});
