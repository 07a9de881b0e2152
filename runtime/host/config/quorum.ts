// [quorum]: local quorum in kosd (../quorum-service.ts). Which genesis memberships to trust, the clock skew
// tolerated between members, and vote policies: [[subsections]] that cast this node's vote automatically on
// proposals of given kinds from given proposers ("approve anomaly alerts raised by these sensors"). Every
// problem is reported on its line. Options: ./README.md.
import type { ConfigSection } from "./parse.js";
import { SectionReader, bool, int, list, oneOf, type OptionTable, type Reporter } from "./schema.js";

export const QUORUM_DEFAULTS = {
  skewS: 2,
} as const;

export const QUORUM_LIMITS_CONFIG = {
  maxPolicies: 64,
  maxTrusted: 256,
} as const;

export const QUORUM_OPTIONS: OptionTable = {
  enabled: bool(),
  trust_genesis: list(),
  trust_authors: list(),
  trust_self: bool(),
  skew: int(0, 60, "a whole number of seconds from 0 to 60"),
};

export const POLICY_OPTIONS: OptionTable = {
  vote: oneOf({ yes: "yes", approve: "yes", no: "no", reject: "no", abstain: "abstain", manual: "manual" }),
  kind: list(),
  proposer: list(),
};

export type PolicyVote = "yes" | "no" | "abstain" | "manual";

export interface QuorumPolicy {
  name: string;
  line: number;
  vote: PolicyVote;
  /** Proposal kinds: exact, or a prefix ending in `*` (`*` alone: every kind). */
  kinds: string[];
  /** Identity hashes (32 lower-case hex digits) of the proposers it applies to; null: any member. */
  proposers: string[] | null;
}

export interface QuorumConfig {
  enabled: boolean;
  /** Genesis membership ids (32 lower-case hex digits) trusted as they are. */
  trustGenesis: string[];
  /** Authors whose genesis membership entries are trusted: identity hashes (32 hex) or public keys (128 hex). */
  trustAuthors: string[];
  /** This node's own membership entries are trusted as genesis (`kosctl vote membership create`). */
  trustSelf: boolean;
  skewMs: number;
  /** In file order; the first that matches a proposal decides. */
  policies: QuorumPolicy[];
}

export const DISABLED_QUORUM: QuorumConfig = { enabled: false, trustGenesis: [], trustAuthors: [], trustSelf: true, skewMs: QUORUM_DEFAULTS.skewS * 1000, policies: [] };

const HEX32 = /^[0-9a-f]{32}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** True when a policy's kind pattern matches a proposal kind. */
export function kindMatches(pattern: string, kind: string): boolean {
  return pattern.endsWith("*") ? kind.startsWith(pattern.slice(0, -1)) : pattern === kind;
}

/** The first policy matching a proposal, or null (leave it to the operator). */
export function matchPolicy(policies: readonly QuorumPolicy[], kind: string, proposerHash: string): QuorumPolicy | null {
  for (const p of policies) {
    if (!p.kinds.some((k) => kindMatches(k, kind))) continue;
    if (p.proposers !== null && !p.proposers.includes(proposerHash)) continue;
    return p;
  }
  return null;
}

export function readQuorum(s: ConfigSection, rep: Reporter): QuorumConfig {
  const r = new SectionReader(s, QUORUM_OPTIONS, rep, { where: "[quorum]", unknown: "error" });
  const hexList = (name: string, ok: (v: string) => boolean, what: string): string[] => {
    const items = r.list(name) ?? [];
    const e = r.entry(name);
    const out: string[] = [];
    for (const raw of items) {
      const v = raw.replace(/[<>]/g, "").toLowerCase();
      if (!ok(v)) rep.error(e!.line, `${name} must list ${what}, got ${JSON.stringify(raw.slice(0, 60))}`, e!.valueColumn);
      else if (!out.includes(v)) out.push(v);
    }
    if (out.length > QUORUM_LIMITS_CONFIG.maxTrusted) rep.error(e!.line, `${name} lists more than ${QUORUM_LIMITS_CONFIG.maxTrusted} items`);
    return out;
  };
  const trustGenesis = hexList("trust_genesis", (v) => HEX32.test(v), "membership ids of 32 hex digits");
  const trustAuthors = hexList("trust_authors", (v) => HEX32.test(v) || HEX128.test(v), "identity hashes (32 hex digits) or public keys (128 hex digits)");
  const enabled = r.bool("enabled") ?? false;
  const trustSelf = r.bool("trust_self") ?? true;
  if (enabled && !trustSelf && trustGenesis.length === 0 && trustAuthors.length === 0) {
    rep.error(r.entry("trust_self")!.line, "with trust_self = no, [quorum] needs trust_genesis or trust_authors: no membership could ever be trusted");
  }
  const policies: QuorumPolicy[] = [];
  for (const sub of s.sections) {
    if (sub.sections.length > 0) for (const x of sub.sections) rep.error(x.line, `policy "${sub.name}" has no subsections; "${x.name}" is not expected here`);
    const pr = new SectionReader(sub, POLICY_OPTIONS, rep, { where: `policy "${sub.name}"`, unknown: "error" });
    const vote = pr.text("vote") as PolicyVote | undefined;
    if (vote === undefined && !pr.given("vote")) rep.error(sub.line, `policy "${sub.name}" needs vote = yes, no, abstain or manual`);
    const kinds = pr.list("kind") ?? [];
    if (kinds.length === 0 && !pr.given("kind")) rep.error(sub.line, `policy "${sub.name}" needs kind (a proposal kind, a prefix ending in *, or * for every kind)`);
    for (const k of kinds) {
      const star = k.indexOf("*");
      if (Buffer.byteLength(k) > 32 || (star >= 0 && star !== k.length - 1)) rep.error(pr.entry("kind")!.line, `kind ${JSON.stringify(k.slice(0, 60))} must be at most 32 bytes, with * only at the end`, pr.entry("kind")!.valueColumn);
    }
    let proposers: string[] | null = null;
    if (pr.has("proposer")) {
      proposers = [];
      for (const raw of pr.list("proposer")!) {
        const v = raw.replace(/[<>]/g, "").toLowerCase();
        if (!HEX32.test(v)) rep.error(pr.entry("proposer")!.line, `proposer must list identity hashes of 32 hex digits, got ${JSON.stringify(raw.slice(0, 60))}`, pr.entry("proposer")!.valueColumn);
        else proposers.push(v);
      }
    }
    if (vote !== undefined && kinds.length > 0) policies.push({ name: sub.name, line: sub.line, vote, kinds, proposers });
  }
  if (s.sections.length > QUORUM_LIMITS_CONFIG.maxPolicies) rep.error(s.line, `more than ${QUORUM_LIMITS_CONFIG.maxPolicies} policies`);
  return { enabled, trustGenesis, trustAuthors, trustSelf, skewMs: (r.num("skew") ?? QUORUM_DEFAULTS.skewS) * 1000, policies };
}
