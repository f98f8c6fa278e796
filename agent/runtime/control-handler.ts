// What the running agent answers on its control socket (runtime/control.ts):
// `ping`, `reload` (re-read identity.json) and `refresh` (sync now, then
// check every enforcer for drift: how IT asks "is this device really
// enforced now?").
import type { ControlRequest } from './control.ts';
import type { Evaluation } from '../decision/evaluate.ts';
import type { ServiceLink } from './service-link.ts';
import type { Decisions } from './decisions.ts';

export function controlHandler(d: { link: ServiceLink; decisions: Decisions; reload: () => Promise<Evaluation> }): (req: ControlRequest) => Promise<unknown> {
  const { link, decisions } = d;
  return async (req) => {
    if (req.cmd === 'ping') return { ok: true, pid: process.pid };
    if (req.cmd === 'reload') {
      const ev = await d.reload();
      return { ok: true, mode: ev.decision.mode, reason: ev.decision.reason };
    }
    // refresh
    if (!link.identity) return { ok: false, error: "this device is not enrolled; run 'devlic-agent enroll --server URL --token T'" };
    if (link.identity.revoked) return { ok: false, error: "the service no longer accepts this device; re-enroll with 'devlic-agent enroll --server URL --token T'" };
    if (!link.poller) {
      const ev = await decisions.reevaluate('refresh');
      const drift = await decisions.verifyDrift('refresh');
      return { ok: false, error: 'no connection to the service is configured (see devlic-agent logs)', mode: ev.decision.mode, reason: ev.decision.reason, drift };
    }
    const o = await link.poller.wake({ unconditional: true, force: true });
    // `refresh` is also how IT asks "is this device really enforced now?".
    const drift = await decisions.verifyDrift('refresh');
    const dec = decisions.last?.decision;
    return {
      ok: o?.ok ?? false,
      error: o && !o.ok ? o.error.message : o ? null : 'the agent is stopping',
      changed: o?.ok ? o.changed : false,
      mode: dec?.mode, reason: dec?.reason,
      drift,
      users: decisions.lastUsers.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason, ...(u.firstSignIn ? { firstSignIn: u.firstSignIn } : {}) })),
    };
  };
}
