// Reads GET /v1/admin/events (server-sent events) in a test, as the console
// does: fetch with the admin token in a header and a streamed body. Every
// event is kept in order; next() waits for the first one, from a position
// on, that a predicate accepts, so a test waits for an event and never sleeps.
export interface AdminEvent { name: string; data: any }

export interface EventStream {
  readonly events: AdminEvent[];
  /** The answer's Content-Type. */
  readonly contentType: string | null;
  /** The first event at index >= from with this name that `match` accepts; rejects after timeoutMs. */
  next(name: string, match?: (data: any) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<{ data: any; index: number }>;
  close(): void;
}

/** Resolves once the stream is open and its `hello` has arrived. */
export async function openEventStream(url: string, token: string): Promise<EventStream> {
  const ctrl = new AbortController();
  const r = await fetch(`${url}/v1/admin/events`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
  if (r.status !== 200) throw new Error(`GET /v1/admin/events -> ${r.status} ${await r.text()}`);
  const events: AdminEvent[] = [];
  const wakers = new Set<() => void>();
  let ended: Error | null = null;
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const name = block.match(/^event: (.*)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (name && data !== undefined) events.push({ name, data: JSON.parse(data) });
        }
        for (const w of wakers) w();
      }
      ended = new Error('the event stream ended');
    } catch (e) {
      ended = e as Error;
    }
    for (const w of wakers) w();
  })();

  const next: EventStream['next'] = (name, match = () => true, { from = 0, timeoutMs = 15_000 } = {}) => new Promise((resolve, reject) => {
    const check = () => {
      for (let i = from; i < events.length; i++) {
        if (events[i].name === name && match(events[i].data)) { done(); resolve({ data: events[i].data, index: i }); return; }
      }
      if (ended) { done(); reject(new Error(`no '${name}' event before the stream ended: ${ended.message}`)); }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`no matching '${name}' event within ${timeoutMs} ms; got ${JSON.stringify(events.slice(from))}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); wakers.delete(check); };
    wakers.add(check);
    check();
  });

  await next('hello');
  return { events, contentType: r.headers.get('content-type'), next, close: () => ctrl.abort() };
}
