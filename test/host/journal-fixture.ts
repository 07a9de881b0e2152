// A fixed 64-member membership for the vote journal tests (the parent and its child build the same one).
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createMembership, type Membership } from "../../runtime/quorum/membership.js";

export function journalFixture(): { members: Identity[]; membership: Membership } {
  const rng = seededRandom(777);
  const members = Array.from({ length: 64 }, () => Identity.generate(rng));
  return { members, membership: createMembership({ members: members.map((m) => m.publicKey) }) };
}
