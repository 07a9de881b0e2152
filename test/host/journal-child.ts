// Child process of vote-journal.test.ts: opens the vote journal in argv[2] and casts votes on proposals of a
// fixed 64-member membership as member 0, the way kosd does (cast -> persistVote -> journal append, fdatasync
// -> votePersisted -> sent). It prints "proposal <hex>" before casting and "vote <hex>" only once the vote is
// durable (that is when kosd would send it). The parent kills it with SIGKILL at a random moment.
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { VoteJournal } from "../../runtime/host/vote-journal.js";
import { QuorumMachine } from "../../runtime/quorum/machine.js";
import { encodeProposalMessage } from "../../runtime/quorum/messages.js";
import { createProposal } from "../../runtime/quorum/proposal.js";
import { Choice } from "../../runtime/quorum/vote.js";
import { journalFixture } from "./journal-fixture.js";

const dir = process.argv[2]!;
const round = Number(process.argv[3] ?? 1);

async function main(): Promise<void> {
  const { members, membership } = journalFixture();
  const journal = VoteJournal.open(dir, Date.now());
  const machine = new QuorumMachine({ identity: members[0]!, trust: { genesisIds: [membership.id] }, random: seededRandom(round), nowMs: Date.now(), interfaces: ["0"] });
  machine.addMembership(membership);
  machine.restore(journal.restoreList());
  process.stdout.write("ready\n");
  const rng = seededRandom(1000 + round);
  // 60 proposals from 60 different members (4 open per proposer at most; 64 tracked at once).
  for (let i = 0; i < 60; i++) {
    const now = Date.now();
    const p = createProposal(members[1 + i]!, membership, { kind: "test.journal", payload: Uint8Array.of(round, i), deadlineMs: now + 3_600_000, createdMs: now - 1 });
    process.stdout.write(`proposal ${toHex(p.encoded)}\n`);
    machine.receive(encodeProposalMessage(p.encoded), { kind: "broadcast", iface: "0" }, now);
    const choice = rng.next32() % 2 === 0 ? Choice.YES : Choice.NO;
    const r = machine.cast(p.id, choice, now);
    if (!r.ok) throw new Error(`cast: ${r.reason}`);
    for (const a of machine.takeActions()) {
      if (a.type !== "persistVote") continue;
      await journal.append(a.vote, p.deadlineMs);
      process.stdout.write(`vote ${toHex(a.vote)}\n`);
      machine.votePersisted(a.proposalId, Date.now());
    }
  }
  process.stdout.write("done\n");
  await journal.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`journal-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
