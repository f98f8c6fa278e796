// Who may open one more admin event stream. Streams are counted per admin
// token and per role, each against its own cap, so that one token (a stuck
// tab, a script) cannot take every stream, and readers together cannot lock
// global-admins out of live updates: each role has a share of its own.

export interface StreamOwner { id: string; role: string }
export interface StreamCaps { perToken: number; perRole: number }

export class StreamQuota {
  private readonly byToken = new Map<string, number>();
  private readonly byRole = new Map<string, number>();
  readonly caps: StreamCaps;

  constructor(caps: StreamCaps) {
    this.caps = caps;
  }

  /** null when `owner` may open one more stream, else why not (for the 429's message). */
  refusal(owner: StreamOwner): string | null {
    if ((this.byToken.get(owner.id) ?? 0) >= this.caps.perToken) {
      return `this admin token already has ${this.caps.perToken} event streams open; close a console tab`;
    }
    if ((this.byRole.get(owner.role) ?? 0) >= this.caps.perRole) {
      return `${this.caps.perRole} event streams are open for the role ${owner.role}; try again later`;
    }
    return null;
  }

  /** Counts a stream in; the returned function counts it out (idempotent). */
  take(owner: StreamOwner): () => void {
    bump(this.byToken, owner.id, 1);
    bump(this.byRole, owner.role, 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      bump(this.byToken, owner.id, -1);
      bump(this.byRole, owner.role, -1);
    };
  }

  tokenCount(id: string): number { return this.byToken.get(id) ?? 0; }
  roleCount(role: string): number { return this.byRole.get(role) ?? 0; }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}
