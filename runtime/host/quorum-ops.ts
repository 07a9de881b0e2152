// kosd's control commands for local quorum (kosctl vote ..., and the quorum part of kosctl status), answered
// by the QuorumService (./quorum-service.ts) once the action log is open and quorum started.
import { parseHex, toHex, type Bytes } from "../core/bytes.js";
import { PUBLIC_KEY_LENGTH } from "../core/limits.js";
import type { LogEntry } from "../log/entry.js";
import { RECORD_ENTRY } from "../log/format.js";
import { LogStoreError } from "../log/store.js";
import { QUORUM_LIMITS } from "../quorum/limits.js";
import { MEMBERSHIP_KIND, defaultThreshold, livenessTolerance, memberIndex, safetyTolerance, type Membership } from "../quorum/membership.js";
import type { TallyView } from "../quorum/tally.js";
import { Choice, choiceName } from "../quorum/vote.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { ControlError, type ControlServer, type Handler } from "./control.js";
import { plainJson } from "./log-ops.js";
import type { KosNode } from "./node.js";
import { QuorumCommandError, type QuorumService, type TrackedProposal, type WatchEvent } from "./quorum-service.js";
import { authorKeysOf, certificateMatches, checkCertificate, resolveTrust } from "./quorum-verify.js";

/** What kosd knows about quorum: off, starting, running (service), or failed to start (why). */
export interface QuorumState {
  enabled: boolean;
  service: QuorumService | null;
  error: string | null;
}

const RECENT = 10;

export function registerQuorum(server: ControlServer, node: KosNode, state: QuorumState): void {
  const service = (): QuorumService => {
    if (!state.enabled) throw new ControlError("quorum is not enabled: set enabled = yes in the [quorum] section of the config");
    if (state.error !== null) throw new ControlError(`quorum did not start: ${state.error}`);
    if (state.service === null) throw new ControlError("quorum is starting (the action log is opening); try again in a moment");
    return state.service;
  };
  const handle = (cmd: string, fn: Handler): void =>
    server.handle(cmd, async (args, progress, signal) => {
      try {
        return await fn(args, progress, signal);
      } catch (e) {
        if (e instanceof QuorumCommandError || e instanceof LogStoreError || e instanceof RangeError || e instanceof TypeError) throw new ControlError(e.message);
        throw e;
      }
    });

  handle("quorum-status", async () => quorumStatus(node, state));

  handle("vote-membership-create", async (args) => {
    const s = service();
    const members = membersArg(args);
    const r = await s.createMembership(members, thresholdArg(args, members.length));
    return { ...membershipJson(r.membership, node), entry: `${toHex(r.entry.author)}:${r.entry.seq}`, trusted: r.trusted };
  });

  handle("vote-membership-change", async (args) => {
    const s = service();
    const members = membersArg(args);
    const r = await s.proposeMembershipChange(members, thresholdArg(args, members.length), deadlineArg(args, node));
    return { proposal: toHex(r.proposal.id), draft: membershipJson(r.draft, node), deadline: new Date(r.proposal.deadlineMs).toISOString() };
  });

  handle("vote-propose", async (args) => {
    const s = service();
    const kind = args["kind"];
    if (typeof kind !== "string" || kind.length === 0) throw new ControlError("kind must be a non-empty string");
    const payload = payloadArg(args);
    const p = s.propose(kind, payload, deadlineArg(args, node));
    return { proposal: toHex(p.id), kind: p.kind, payloadBytes: p.payload.length, deadline: new Date(p.deadlineMs).toISOString(), membership: toHex(p.membershipId) };
  });

  handle("vote-list", async () => {
    const s = service();
    return { proposals: s.tracked().map((t) => proposalJson(t, node, s, false)).reverse() };
  });

  handle("vote-show", async (args) => {
    const s = service();
    return proposalJson(findArg(s, args), node, s, true);
  });

  handle("vote-cast", async (args) => {
    const s = service();
    const t = findArgOrId(s, args);
    const choice = choiceArg(args["choice"]);
    const r = await s.cast(t.id, choice);
    return { proposal: toHex(t.id), ...r };
  });

  handle("vote-watch", async (args, progress, signal) => {
    const s = service();
    const only = typeof args["id"] === "string" && args["id"] !== "" ? findArg(s, args) : null;
    const onlyHex = only === null ? null : toHex(only.proposal.id);
    const final = (v: TallyView | null): boolean => v !== null && v.status !== "pending";
    let stop: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (stop = resolve));
    const off = s.watch((e: WatchEvent) => {
      if (onlyHex !== null && e.proposal !== onlyHex) return;
      progress({ ...e, at: new Date(node.clock.nowMs()).toISOString() });
      if (onlyHex !== null && e.event === "status" && final(e.view)) stop();
    });
    if (only !== null) {
      progress({ proposal: onlyHex, event: "state", view: only.view, at: new Date(node.clock.nowMs()).toISOString() });
      if (final(only.view)) stop();
    }
    signal.addEventListener("abort", stop);
    await ended;
    off();
    return only === null ? { ended: true } : proposalJson(only, node, s, false);
  });

  handle("vote-verify", async (args) => {
    const s = service();
    const prefix = idPrefixArg(args);
    const memberships: LogEntry[] = [];
    const certs: LogEntry[] = [];
    const all: LogEntry[] = [];
    let n = 0;
    for (const r of s.store.records()) {
      if (++n % 2000 === 0) await new Promise((res) => setImmediate(res));
      if (r.type !== RECORD_ENTRY) continue;
      const e = r.entry;
      if (e.seq === 1) all.push(e);
      if (e.kind === MEMBERSHIP_KIND) memberships.push(e);
      else if (certificateMatches(e, prefix)) certs.push(e);
    }
    if (certs.length === 0) throw new ControlError(`no certificate for a proposal ${prefix}... in the action log`);
    const keys = authorKeysOf(all);
    const cfg = s.config;
    const trust = resolveTrust({ genesisIds: cfg.trustGenesis, authors: [...cfg.trustAuthors, ...(cfg.trustSelf ? [toHex(node.identity.publicKey)] : [])] }, (a) => keys.get(a) ?? null);
    const results = certs.map((e) => ({ entry: `${toHex(e.author)}:${e.seq}`, ...checkCertificate(e.body, memberships, trust) }));
    const ids = new Set(results.map((r) => r.proposal));
    if (ids.size > 1) throw new ControlError(`proposal id prefix ${prefix} is ambiguous: give more digits`);
    return { ok: results.every((r) => r.ok), certificates: results };
  });
}

export function quorumStatus(node: KosNode, state: QuorumState): Record<string, unknown> {
  if (!state.enabled) return { enabled: false };
  const base = { enabled: true, identity: toHex(node.identity.hash), key: toHex(node.identity.publicKey) };
  if (state.error !== null) return { ...base, running: false, error: state.error };
  const s = state.service;
  if (s === null) return { ...base, running: false, error: null };
  const m = s.machine.currentMembership();
  const now = node.clock.nowMs();
  const tracked = s.tracked();
  const open = tracked.filter((t) => (t.view?.status ?? "pending") === "pending" && now <= t.proposal.deadlineMs);
  const decided = tracked.filter((t) => t.decidedAtMs !== null).sort((a, b) => b.decidedAtMs! - a.decidedAtMs!).slice(0, RECENT);
  const st = s.machine.stats;
  return {
    ...base,
    running: true,
    membership: m === null ? null : membershipJson(m, node),
    open: open.map((t) => proposalJson(t, node, s, false)),
    recent: decided.map((t) => proposalJson(t, node, s, false)),
    drops: { ...st.dropped },
    dropsTotal: Object.values(st.dropped).reduce((a, b) => a + b, 0),
    stats: {
      messagesIn: st.messagesIn, messagesOut: st.messagesOut, bytesOut: st.bytesOut, sent: { ...st.sent }, votesCounted: st.votesCounted,
      certificates: st.certificates, equivocations: st.equivocations, orphansRecovered: st.orphansRecovered,
      packetsIn: s.app.stats.packetsIn, packetsOut: s.app.stats.packetsOut, packetsRefused: s.app.stats.packetsRefused, persistFailures: s.app.stats.persistFailures,
      ...s.counters,
    },
    links: linksJson(s),
    journal: { file: s.journal.file, votes: s.journal.votes().length, truncatedBytes: s.journal.recovery.truncatedBytes, forgotten: s.journal.recovery.forgotten },
    policies: s.config.policies.map((p) => ({ name: p.name, vote: p.vote, kinds: p.kinds, proposers: p.proposers })),
  };
}

export function membershipJson(m: Membership, node: KosNode): Record<string, unknown> {
  const n = m.members.length;
  return {
    id: toHex(m.id),
    version: m.version,
    members: m.identities.map((id, i) => ({ index: i, identity: toHex(id.hash), key: toHex(m.members[i]!) })),
    threshold: m.threshold,
    safetyTolerance: safetyTolerance(n, m.threshold),
    livenessTolerance: livenessTolerance(n, m.threshold),
    previous: m.previousId === null ? null : toHex(m.previousId),
    index: memberIndex(m, node.identity.publicKey),
  };
}

function proposalJson(t: TrackedProposal, node: KosNode, s: QuorumService, full: boolean): Record<string, unknown> {
  const p = t.proposal;
  const view = s.machine.view(p.id) ?? t.view;
  const own = s.machine.ownVote(p.id);
  const now = node.clock.nowMs();
  const cert = s.machine.certificate(p.id) ?? t.certificate;
  const out: Record<string, unknown> = {
    id: toHex(p.id),
    kind: p.kind,
    payload: payloadJson(p.payload),
    proposer: { index: p.proposer, identity: toHex(t.membership.identities[p.proposer]!.hash) },
    membership: { id: toHex(t.membership.id), version: t.membership.version, members: t.membership.members.length, threshold: t.membership.threshold },
    created: new Date(p.createdMs).toISOString(),
    deadline: new Date(p.deadlineMs).toISOString(),
    deadlineInS: Math.round((p.deadlineMs - now) / 1000),
    status: view?.status ?? "pending",
    yes: view?.yes ?? 0,
    no: view?.no ?? 0,
    abstain: view?.abstain ?? 0,
    canApprove: view?.canApprove ?? false,
    canReject: view?.canReject ?? false,
    equivocators: view?.equivocators ?? [],
    ownVote: own === null ? null : { choice: choiceName(own.vote.choice), timeMs: own.vote.timeMs, durable: own.durable },
    policy: t.policy,
    certificate: cert === null ? null : { outcome: cert.outcome, votes: cert.votes.length },
    decided: t.decidedAtMs === null ? null : new Date(t.decidedAtMs).toISOString(),
  };
  if (full) {
    out["voters"] = [...t.votes].sort((a, b) => a[0] - b[0]).map(([i, c]) => ({ index: i, identity: toHex(t.membership.identities[i]!.hash), choice: choiceName(c as Choice) }));
    out["certificateHex"] = cert === null ? null : toHex(cert.encoded);
    out["payloadHex"] = toHex(p.payload);
  }
  return out;
}

function payloadJson(b: Bytes): unknown {
  if (b.length === 0) return null;
  const u = unpackMsgpack(b);
  return u.ok ? plainJson(u.value) : { $hex: toHex(b) };
}

function membersArg(args: Record<string, unknown>): Bytes[] {
  const v = args["members"];
  if (!Array.isArray(v) || v.length === 0) throw new ControlError("members must list at least one public key");
  if (v.length > QUORUM_LIMITS.maxMembers) throw new ControlError(`at most ${QUORUM_LIMITS.maxMembers} members`);
  return v.map((x) => {
    const b = typeof x === "string" ? parseHex(x.replace(/[<>\s]/g, "")) : null;
    if (b === null || b.length !== PUBLIC_KEY_LENGTH) throw new ControlError(`a member is a ${PUBLIC_KEY_LENGTH}-byte public key in hex (${PUBLIC_KEY_LENGTH * 2} digits; kosctl status --json shows a node's as quorum.key)`);
    return b;
  });
}

function thresholdArg(args: Record<string, unknown>, n: number): number | undefined {
  const v = args["threshold"];
  if (v === undefined || v === null) return undefined;
  const min = Math.floor(n / 2) + 1;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > n) throw new ControlError(`threshold must be ${min}..${n} for ${n} members (default ${defaultThreshold(n)})`);
  return v;
}

function deadlineArg(args: Record<string, unknown>, node: KosNode): number {
  const v = args["deadlineInMs"];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1000 || v > QUORUM_LIMITS.maxLifetimeMs) throw new ControlError(`the deadline must be 1 s to ${QUORUM_LIMITS.maxLifetimeMs / 86_400_000} days away`);
  return node.clock.nowMs() + v;
}

function payloadArg(args: Record<string, unknown>): Bytes {
  let b: Bytes;
  if (typeof args["payloadHex"] === "string") {
    const x = parseHex(args["payloadHex"]);
    if (x === null) throw new ControlError("payloadHex must be hex");
    b = x;
  } else if (args["payload"] === undefined || args["payload"] === null) {
    b = new Uint8Array(0);
  } else {
    try {
      b = packMsgpack(args["payload"]);
    } catch (e) {
      throw new ControlError(`payload cannot be written as MessagePack: ${(e as Error).message}`);
    }
  }
  if (b.length > QUORUM_LIMITS.maxPayloadBytes) throw new ControlError(`payload of ${b.length} bytes exceeds ${QUORUM_LIMITS.maxPayloadBytes} (a proposal must fit one radio packet)`);
  return b;
}

function choiceArg(v: unknown): Choice {
  const c = typeof v === "string" ? v.toLowerCase() : "";
  if (c === "yes" || c === "approve") return Choice.YES;
  if (c === "no" || c === "reject") return Choice.NO;
  if (c === "abstain") return Choice.ABSTAIN;
  throw new ControlError("the choice must be yes, no or abstain");
}

function idPrefixArg(args: Record<string, unknown>): string {
  const id = typeof args["id"] === "string" ? args["id"].trim().toLowerCase().replace(/[<>]/g, "") : "";
  if (!/^[0-9a-f]{4,32}$/.test(id)) throw new ControlError("a proposal id is 4 to 32 hex digits (a prefix of it will do)");
  return id;
}

function findArg(s: QuorumService, args: Record<string, unknown>): TrackedProposal {
  const prefix = idPrefixArg(args);
  const t = s.find(prefix);
  if (t === null) throw new ControlError(`no proposal ${prefix} is known here (kosctl vote list shows those that are)`);
  return t;
}

/** A tracked proposal, or (for a vote after a restart, before the proposal is heard again) a full id. */
function findArgOrId(s: QuorumService, args: Record<string, unknown>): { id: Bytes } {
  const prefix = idPrefixArg(args);
  const t = s.find(prefix);
  if (t !== null) return { id: t.proposal.id };
  if (prefix.length === 32) return { id: parseHex(prefix)! };
  throw new ControlError(`no proposal ${prefix} is known here: give the full 32-digit id`);
}

/** Quorum links to members beyond non-quorum relays: the ones open now and the counters. */
function linksJson(s: QuorumService): Record<string, unknown> {
  const st = s.app.stats;
  return {
    open: s.app.links().map((l) => ({ link: l.linkId, direction: l.outgoing ? "out" : "in", member: l.member, up: l.up })),
    opened: st.linksOpened, accepted: st.linksAccepted, failed: st.linksFailed, idleClosed: st.linksIdleClosed,
    refusedNotMember: st.linksRefusedNotMember, refusedUnidentified: st.linksRefusedUnidentified,
    packetsIn: st.linkPacketsIn, packetsDropped: st.linkPacketsDropped, pathRequests: st.pathRequests,
  };
}
