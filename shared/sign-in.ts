// Sign-in names: one spelling per person, shared by the service (user-group
// members, user entitlements) and the agent (who is signed in), so that the
// name an admin typed and the name a device reports compare equal exactly
// when they name the same account. Pure; the rule is in docs/design.md
// ("Sign-in names").
//
// The rule, in order:
//  1. Unicode NFC, surrounding white space removed.
//  2. Refused: empty, longer than SIGN_IN_NAME_MAX, control characters, line
//     separators or bidi controls (PLAIN_TEXT_PATTERN), white space other
//     than single inner spaces (Windows local accounts may hold spaces), and
//     the characters Windows refuses in account names ("/[]:;|=,+*?<>) —
//     the comma matters too because the hook passes users comma-separated.
//  3. `DOMAIN\user` (down-level logon name) becomes `user@domain`; `.\user`
//     (this machine's local account) becomes `user`. At most one `\` and
//     one `@`, never both, and no empty part.
//  4. Lower case (locale-independent): Windows, Active Directory and Entra ID
//     compare account names without case. Linux names are lower case in
//     practice (useradd refuses upper case by default).
// A NetBIOS domain is not mapped to a DNS domain here: `CONTOSO\alice` is
// `alice@contoso`, which is not `alice@contoso.com`. devlic never guesses the
// mapping; an admin states it (shared/sign-in-domains.ts), and the service
// applies it after this normalisation.
import { DevlicError } from './errors.ts';
import { NOT_PLAIN_TEXT } from './schemas/common.ts';

export const SIGN_IN_NAME_MAX = 256;

/** Characters Windows refuses in account names, plus `\` and `@` handled by rule 3. */
const FORBIDDEN = /["/[\]:;|=,+*?<>]/u;

export type SignInResult = { ok: true; name: string } | { ok: false; message: string };

/** The normalised sign-in name, or why `raw` is not one. */
export function checkSignInName(raw: string): SignInResult {
  if (typeof raw !== 'string') return { ok: false, message: 'sign-in name must be a string' };
  const s = raw.normalize('NFC').trim();
  if (s === '') return { ok: false, message: 'sign-in name is empty' };
  if (s.length > SIGN_IN_NAME_MAX) return { ok: false, message: `sign-in name is longer than ${SIGN_IN_NAME_MAX} characters` };
  if (new RegExp(NOT_PLAIN_TEXT.source, 'u').test(s)) return { ok: false, message: 'sign-in name contains control characters, line separators or bidi controls' };
  if (/\s/u.test(s.replace(/(?<=\S) (?=\S)/gu, ''))) return { ok: false, message: 'sign-in name may only contain single spaces between other characters' };
  const bad = s.match(FORBIDDEN);
  if (bad) return { ok: false, message: `sign-in name contains '${bad[0]}', which account names cannot hold` };
  const slashes = s.split('\\').length - 1;
  const ats = s.split('@').length - 1;
  if (slashes > 1 || ats > 1 || (slashes === 1 && ats === 1)) {
    return { ok: false, message: "sign-in name must be 'user', 'user@domain' or 'DOMAIN\\user'" };
  }
  let user = s;
  let domain: string | null = null;
  if (slashes === 1) {
    const i = s.indexOf('\\');
    domain = s.slice(0, i);
    user = s.slice(i + 1);
    if (domain === '.') domain = null;
  } else if (ats === 1) {
    const i = s.indexOf('@');
    user = s.slice(0, i);
    domain = s.slice(i + 1);
  }
  if (user.trim() === '' || user !== user.trim() || (domain !== null && (domain.trim() === '' || domain !== domain.trim()))) {
    return { ok: false, message: 'sign-in name has an empty user or domain part' };
  }
  const name = (domain === null ? user : `${user}@${domain}`).toLowerCase();
  // Lower-casing can lengthen a string (İ -> i̇): keep the bound on the result.
  if (name.length > SIGN_IN_NAME_MAX) return { ok: false, message: `sign-in name is longer than ${SIGN_IN_NAME_MAX} characters` };
  return { ok: true, name };
}

/** The normalised sign-in name; throws SIGN_IN_NAME_INVALID (naming the input) otherwise. */
export function normaliseSignInName(raw: string): string {
  const r = checkSignInName(raw);
  if (!r.ok) throw new DevlicError('SIGN_IN_NAME_INVALID', `${JSON.stringify(String(raw).slice(0, 80))}: ${r.message}`, { name: String(raw).slice(0, SIGN_IN_NAME_MAX) });
  return r.name;
}

/** True when both spell the same account (false if either is not a sign-in name). */
export function sameSignIn(a: string, b: string): boolean {
  const x = checkSignInName(a);
  const y = checkSignInName(b);
  return x.ok && y.ok && x.name === y.name;
}
