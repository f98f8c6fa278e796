// Admin messages for sign-in domain aliases (issue 16, shared/sign-in-domains.ts):
// NetBIOS domain -> DNS domain, set by global-admins.
import Type from 'typebox';
import { Timestamp } from './common.ts';
import { Confirm } from './admin.ts';

export const SignInDomain = Type.Object({
  /** Lower case, as sign-in names hold it (`CORP\alice` is `alice@corp`). */
  netbios: Type.String(),
  dns: Type.String(),
  changedAt: Timestamp,
});
export type SignInDomain = Type.Static<typeof SignInDomain>;

/** Names are checked by the service (SIGN_IN_DOMAIN_INVALID names the rule broken); the bounds here only cap the body. */
export const AddSignInDomainBody = Type.Object({
  netbios: Type.String({ minLength: 1, maxLength: 64 }),
  dns: Type.String({ minLength: 1, maxLength: 300 }),
  confirm: Confirm,
}, { additionalProperties: false });
export type AddSignInDomainBody = Type.Static<typeof AddSignInDomainBody>;

export const RemoveSignInDomainBody = Type.Object({
  /** Needed while people are licensed in the alias's DNS domain (CONFIRMATION_REQUIRED otherwise). */
  confirm: Confirm,
}, { additionalProperties: false });
export type RemoveSignInDomainBody = Type.Static<typeof RemoveSignInDomainBody>;

/** Two listed names the alias made one person. */
export const MergedName = Type.Object({ from: Type.String(), into: Type.String() });

export const SignInDomainChange = Type.Object({
  netbios: Type.String(),
  dns: Type.String(),
  /** Listed names now one person (first 50 in the audit event; all here). */
  merged: Type.Array(MergedName),
});
export type SignInDomainChange = Type.Static<typeof SignInDomainChange>;
