// One keep-alive HTTP/1.1 connection whose answers are kept as the exact
// bytes the server wrote (status line, headers, body), for tests that compare
// two ways of writing the same answer byte for byte.
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  socket: Socket;
  /** Writes a request head and resolves with the next whole answer (head + Content-Length body), as latin1 text. */
  request(head: string): Promise<string>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
}

export function rawExchange(port: number): RawExchange {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setEncoding('latin1');
  let buf = '';
  let waiting: ((answer: string) => void) | undefined;
  const take = () => {
    if (!waiting) return;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const m = buf.slice(0, end).match(/\r\ncontent-length: *(\d+)/i);
    const total = end + 4 + (m ? Number(m[1]) : 0);
    if (buf.length < total) return;
    const answer = buf.slice(0, total);
    buf = buf.slice(total);
    const w = waiting;
    waiting = undefined;
    w(answer);
  };
  socket.on('data', (d: string) => { buf += d; take(); });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket, closed,
    request(head) {
      return new Promise((resolve, reject) => {
        waiting = resolve;
        socket.write(head);
        closed.then(() => reject(new Error(`connection closed before a whole answer (had ${JSON.stringify(buf)})`)));
      });
    },
  };
}

/** The answer with its Date header's value (the one thing that differs from second to second) replaced. */
export function withoutDate(answer: string): string {
  return answer.replace(/\r\nDate: [^\r]*/, '\r\nDate: (date)');
}
