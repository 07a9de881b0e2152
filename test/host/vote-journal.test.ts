// The vote journal: SIGKILL while casting never loses a vote that was made durable (and so could have been
// sent); after a restart a different choice on the same proposal is refused and the same choice re-sends the
// very same signed vote. Torn tails are cut off at open; damage anywhere else refuses to open, with a message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { equal, fromHex, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { VOTE_JOURNAL_FILE, VOTE_JOURNAL_LIMITS, VoteJournal, VoteJournalError } from "../../runtime/host/vote-journal.js";
import { QuorumMachine } from "../../runtime/quorum/machine.js";
import { decodeMessage, encodeProposalMessage } from "../../runtime/quorum/messages.js";
import { createProposal, decodeProposal } from "../../runtime/quorum/proposal.js";
import { Choice, decodeVote, encodeVote, signVote } from "../../runtime/quorum/vote.js";
import { MessageType } from "../../runtime/quorum/limits.js";
import { journalFixture } from "./journal-fixture.js";

const CHILD = fileURLToPath(new URL("./journal-child.js", import.meta.url));

function tmp(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-journal-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runChild(dir: string, round: number, killAfterMs: number): Promise<{ proposals: string[]; votes: string[]; finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (timer === null && out.includes("ready\n")) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("exit", (code, signal) => {
      clearTimeout(guard);
      if (timer !== null) clearTimeout(timer);
      if (code !== 0 && signal !== "SIGKILL") return reject(new Error(`child exited ${code}: ${err}`));
      // Only whole lines count: a line cut by the kill was not printed.
      const lines = out.split("\n").slice(0, -1);
      resolve({
        proposals: lines.filter((l) => l.startsWith("proposal ")).map((l) => l.slice(9)),
        votes: lines.filter((l) => l.startsWith("vote ")).map((l) => l.slice(5)),
        finished: lines.includes("done"),
      });
    });
  });
}

test("SIGKILL while casting: durable votes survive, other choices are refused after restart, the same vote is re-sent", { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const { members, membership } = journalFixture();
  const rng = seededRandom(99);
  let killedMidway = 0;
  const allVotes = new Set<string>();
  for (let round = 1; round <= 6; round++) {
    const killAfter = rng.next32() % 60;
    const r = await runChild(dir, round, killAfter);
    if (!r.finished) killedMidway++;
    const journal = VoteJournal.open(dir, Date.now());
    const held = new Set(journal.votes().map((v) => toHex(v.vote)));
    for (const v of r.votes) assert.ok(held.has(v), `round ${round} (kill after ${killAfter} ms): a durable vote was lost`);
    for (const v of allVotes) assert.ok(held.has(v), `round ${round}: a vote of an earlier round was lost`);
    for (const v of r.votes) allVotes.add(v);
    // Restart: a machine restored from the journal refuses the other choice and re-sends the same vote.
    const m = new QuorumMachine({ identity: members[0]!, trust: { genesisIds: [membership.id] }, random: seededRandom(round), nowMs: Date.now(), interfaces: ["0"] });
    m.addMembership(membership);
    assert.equal(m.restore(journal.restoreList()), journal.votes().length);
    for (const hex of r.proposals) {
      const p = decodeProposal(fromHex(hex));
      assert.ok(p.ok);
      m.receive(encodeProposalMessage(p.value.encoded), { kind: "broadcast", iface: "0" }, Date.now());
    }
    m.takeActions();
    for (const hex of r.votes) {
      const v = decodeVote(fromHex(hex));
      assert.ok(v.ok);
      const other = v.value.choice === Choice.YES ? Choice.NO : Choice.YES;
      const refused = m.cast(v.value.proposalId, other, Date.now());
      assert.ok(!refused.ok && refused.reason === "already-voted", `round ${round}: another choice must be refused`);
      const again = m.cast(v.value.proposalId, v.value.choice, Date.now());
      assert.ok(again.ok && toHex(encodeVote(again.value)) === hex, `round ${round}: the same signed vote`);
      const sent = m.takeActions().filter((a) => a.type === "broadcast");
      assert.equal(sent.length, 1, "re-sent once");
      const msg = decodeMessage((sent[0] as { bytes: Uint8Array }).bytes);
      assert.ok(msg.ok && msg.value.type === MessageType.VOTE && equal(msg.value.votes[0]!.signature, v.value.signature));
      assert.equal(m.takeActions().filter((a) => a.type === "persistVote").length, 0, "nothing new to persist");
    }
    await journal.close();
  }
  process.stdout.write(`# ${allVotes.size} durable votes over 6 rounds, ${killedMidway} rounds killed while casting\n`);
  assert.ok(killedMidway >= 1, "at least one kill landed while casting");
});

test("a torn tail is cut off at open; zeros where a record should start too", async (t) => {
  const dir = tmp(t);
  const { members, membership } = journalFixture();
  const now = Date.now();
  const p = createProposal(members[1]!, membership, { kind: "k", payload: new Uint8Array(0), deadlineMs: now + 60_000, createdMs: now });
  const vote = encodeVote(signVote(members[0]!, p, membership, Choice.YES, now));
  let j = VoteJournal.open(dir, now);
  await j.append(vote, p.deadlineMs);
  await j.close();
  const file = path.join(dir, VOTE_JOURNAL_FILE);
  const size = fs.statSync(file).size;
  fs.appendFileSync(file, Buffer.from([0, 0, 0, 96, 1, 2, 3, 4, 5, 6, 7])); // a record cut short
  j = VoteJournal.open(dir, now);
  assert.equal(j.votes().length, 1);
  assert.equal(j.recovery.truncatedBytes, 11);
  assert.equal(fs.statSync(file).size, size);
  await j.append(vote, p.deadlineMs); // appends go on after the cut
  await j.close();
  fs.appendFileSync(file, new Uint8Array(200)); // allocated, never written
  j = VoteJournal.open(dir, now);
  assert.equal(j.votes().length, 2);
  assert.equal(j.recovery.truncatedBytes, 200);
  await j.close();
});

test("damage is refused with a clear message: a bad checksum, a bad length, a bad header", async (t) => {
  const dir = tmp(t);
  const { members, membership } = journalFixture();
  const now = Date.now();
  const p = createProposal(members[1]!, membership, { kind: "k", payload: new Uint8Array(0), deadlineMs: now + 60_000, createdMs: now });
  const j = VoteJournal.open(dir, now);
  for (const c of [Choice.YES, Choice.NO]) await j.append(encodeVote(signVote(members[0]!, p, membership, c, now)), p.deadlineMs);
  await j.close();
  const file = path.join(dir, VOTE_JOURNAL_FILE);
  const good = fs.readFileSync(file);
  const damage = (at: number): void => {
    const b = Buffer.from(good);
    b[at]! ^= 0x40;
    fs.writeFileSync(file, b);
  };
  for (const [at, why] of [[16 + 8 + 40, /record checksum mismatch/], [good.length - 10, /record checksum mismatch/], [16 + 3, /bad record length/], [2, /bad magic/], [13, /header checksum/]] as const) {
    damage(at);
    assert.throws(() => VoteJournal.open(dir, now), (e: unknown) => e instanceof VoteJournalError && why.test(e.message) && /quorum is not started/.test(e.message), `byte ${at}`);
  }
});

test("votes long past their deadline are forgotten once the journal is large; recent ones never", async (t) => {
  const dir = tmp(t);
  const { members, membership } = journalFixture();
  const now = Date.now();
  const j = VoteJournal.open(dir, now);
  const n = VOTE_JOURNAL_LIMITS.compactAbove + 10;
  const old = now - VOTE_JOURNAL_LIMITS.forgetAfterMs - 60_000;
  for (let i = 0; i < n; i++) {
    const p = createProposal(members[1 + (i % 60)]!, membership, { kind: "k", payload: Uint8Array.of(i & 255, i >> 8), deadlineMs: i < 20 ? now + 60_000 : old, createdMs: old - 1000 });
    await j.append(encodeVote(signVote(members[0]!, p, membership, Choice.YES, old - 500)), p.deadlineMs);
  }
  await j.close();
  const k = VoteJournal.open(dir, now);
  assert.equal(k.votes().length, 20);
  assert.equal(k.recovery.forgotten, n - 20);
  await k.close();
});
