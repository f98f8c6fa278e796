// The child of bench/agent-floor.ts: the least an agent built on the design
// card's libraries must do while idle, at one of four levels (each adds to
// the one before), so the bench can say how much memory those libraries
// take before any devlic code runs:
//   bare    nothing (a timer that never fires)
//   tls     undici Pool over HTTPS with h2 allowed, one long-poll after another
//   sqlite  + a better-sqlite3 database in WAL mode: a row written per answer
//   libs    + a pino logger to a file, a node-cron task, jose verifying an
//           EdDSA token per answer (what the agent checks on every answer)
// Like the agent, it runs one memory-reducing GC 60 s after start.
// Arguments: LEVEL URL CA_FILE DATA_DIR (all but LEVEL unused for bare).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scheduleStartupGc } from '../agent/runtime/v8-flags.ts';

const [level, url, caFile, dataDir] = process.argv.slice(2);
const LEVELS = ['bare', 'tls', 'sqlite', 'libs'];
if (!LEVELS.includes(level)) throw new Error(`level must be one of ${LEVELS.join(', ')}`);
const at = (l: string) => LEVELS.indexOf(level) >= LEVELS.indexOf(l);

scheduleStartupGc(60_000);
setInterval(() => {}, 1 << 30);

if (at('tls')) {
  const { Pool } = await import('undici');
  const pool = new Pool(url, { connect: { ca: readFileSync(caFile, 'utf8') }, allowH2: true, connections: 1, maxHeaderSize: 16 * 1024 });
  let onAnswer = (_body: string): void => {};
  if (at('sqlite')) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'floor.db'));
    db.pragma('journal_mode = WAL');
    // SQL through a prepared statement, like the agent's store (no shell is involved either way).
    db.prepare('CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL)').run();
    const put = db.prepare('INSERT INTO answers (at, body) VALUES (?, ?)');
    const store = onAnswer;
    onAnswer = (body) => { put.run(Date.now(), body); store(body); };
  }
  if (at('libs')) {
    const { pino } = await import('pino');
    const cron = await import('node-cron');
    const jose = await import('jose');
    const log = pino({ level: 'info' }, pino.destination({ dest: join(dataDir, 'floor.log'), sync: true }));
    cron.schedule('*/5 * * * *', () => log.info('tick'));
    const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await new jose.SignJWT({ mode: 'full' }).setProtectedHeader({ alg: 'EdDSA' }).sign(privateKey);
    const store = onAnswer;
    onAnswer = (body) => {
      void jose.jwtVerify(token, publicKey).then(() => log.info({ bytes: body.length }, 'answer'));
      store(body);
    };
  }
  const poll = async (): Promise<void> => {
    for (;;) {
      try {
        const r = await pool.request({ path: '/hold', method: 'GET' });
        onAnswer(await r.body.text());
      } catch {
        await new Promise((ok) => setTimeout(ok, 1000));
      }
    }
  };
  void poll();
}
