// The agent's own failure type: a message for the person at the terminal plus
// what to do about it. main.ts prints it and exits 1 (the shared exit-code
// contract); shared/errors.ts's DevlicError stays for protocol-level codes.

export class AgentError extends Error {
  readonly hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'AgentError';
    this.hint = hint;
  }
}
