// Checks a device's entitlement the way the agent does: start from the keys
// the device pinned at enrollment, extend them only along the service's
// published key chain (shared/keychain.ts), then verify the token against
// those keys alone. A service that signs with a key the device cannot reach
// this way would be rejected by every enrolled agent.
import { ENTITLEMENT_AUDIENCE, API } from '../../shared/api.ts';
import { extendPins } from '../../shared/keychain.ts';
import { keyFromJwk, tokenKid, verifyEntitlement } from '../../shared/token.ts';
import type { SimDevice } from './sim-device.ts';

export async function verifyAsAgent(device: SimDevice, serviceUrl: string, token: string) {
  const enrolled = device.enrollment!;
  const keySet = await (await fetch(`${serviceUrl}${API.keySet}`)).json() as { issuer: string; chain: string[] };
  const kid = tokenKid(token) ?? undefined;
  const pinned = enrolled.keys.keys;
  const known = pinned.some((k) => k.kid === kid);
  const added = known ? [] : await extendPins({ pinned, issuer: enrolled.issuer, links: keySet.chain, want: kid });
  const trusted = new Map([...pinned, ...added].map((k) => [k.kid!, keyFromJwk(k)]));
  const claims = await verifyEntitlement(token, { keys: trusted, deviceId: device.deviceId, issuer: enrolled.issuer, audience: ENTITLEMENT_AUDIENCE });
  return { claims, kid, added: added.map((k) => k.kid) };
}
