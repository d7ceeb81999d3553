/**
 * The desired flows of one host, as partitions (pipeline, network:<id>,
 * endpoint:<id>) that each claim flow keys. A key may be claimed by several
 * partitions at once — an ofport reused by a new endpoint while the old one's
 * binding is still being taken down gives both the same `in_port=P` classify
 * and `reg2=P` output keys — so every key keeps the set of partitions that want
 * it (its reference count, as OVN's ofctrl links desired flows to an installed
 * one). A key is desired while at least one partition claims it, and deleted
 * from the switch only when the last claim goes.
 *
 * When claims differ in content, the most recent change wins: a partition that
 * re-sets a key with the same content keeps its place, one that changes it (or
 * claims it anew) becomes the key's flow. The newest binding of a port is
 * therefore what the switch gets, and removing the older one changes nothing.
 *
 *   claims:  key ──▶ partition ──▶ flow      (insertion order: newest change last)
 *   desired: key ──▶ flow of the newest claim (what diffFlows compares)
 */
import type { Flow } from '../pipeline/flow';
import type { KeyedFlow } from './diff';
import { encodeFlow } from './flow-key';

/** A flow with its key, fingerprint and wire bytes from one encoding. */
export function keyed(flow: Flow): KeyedFlow {
  const tableId = flow.table.id;
  const { key, fp, wire } = encodeFlow({ tableId, priority: flow.priority, match: flow.match }, flow.cookie, flow.instructions);
  return { key, tableId, priority: flow.priority, match: flow.match, cookie: flow.cookie, instructions: flow.instructions, fp, wire };
}

/**
 * The claims on one key. Almost every key has one claimant, so that case is a
 * pair, not a Map (one object per desired flow fewer); a second claimant turns
 * it into a Map in insertion order.
 */
type Claim = { readonly owner: string; readonly flow: KeyedFlow } | Map<string, KeyedFlow>;

export class DesiredFlows {
  private readonly byKey = new Map<string, KeyedFlow>();
  private readonly claims = new Map<string, Claim>();
  private readonly partitions = new Map<string, ReadonlyMap<string, KeyedFlow>>();

  /** The flow wanted for each key (the newest claim's), for diffing. */
  get flows(): ReadonlyMap<string, KeyedFlow> {
    return this.byKey;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** How many partitions want `key` (0: it is not desired). */
  refCount(key: string): number {
    const claim = this.claims.get(key);
    return claim === undefined ? 0 : claim instanceof Map ? claim.size : 1;
  }

  /** Partitions that claim `key`, oldest change first. */
  claimants(key: string): string[] {
    const claim = this.claims.get(key);
    return claim === undefined ? [] : claim instanceof Map ? [...claim.keys()] : [claim.owner];
  }

  /**
   * Replaces what partition `name` wants. Returns the keys whose desired flow
   * changed (added, removed or different), which are all a diff must look at.
   */
  setPartition(name: string, flows: readonly Flow[]): Set<string> {
    const next = new Map<string, KeyedFlow>();
    for (const f of flows) {
      const k = keyed(f);
      next.set(k.key, k);
    }
    const old = this.partitions.get(name);
    const touched: string[] = [];
    for (const [key, k] of next) {
      if (old?.get(key)?.fp === k.fp) continue; // same claim, same place
      this.claim(key, name, k);
      touched.push(key);
    }
    if (old) {
      for (const key of old.keys()) {
        if (next.has(key)) continue;
        this.unclaim(key, name);
        touched.push(key);
      }
    }
    if (next.size) this.partitions.set(name, next);
    else this.partitions.delete(name);
    const changed = new Set<string>();
    for (const key of touched) {
      const before = this.byKey.get(key);
      const after = newest(this.claims.get(key));
      if (after) this.byKey.set(key, after);
      else this.byKey.delete(key);
      if (before?.fp !== after?.fp) changed.add(key);
    }
    return changed;
  }

  /** Makes `name`'s claim on `key` the newest, with flow `k`. */
  private claim(key: string, name: string, k: KeyedFlow): void {
    const claim = this.claims.get(key);
    if (claim === undefined || (!(claim instanceof Map) && claim.owner === name)) {
      this.claims.set(key, { owner: name, flow: k });
    } else if (claim instanceof Map) {
      claim.delete(name);
      claim.set(name, k);
    } else {
      this.claims.set(key, new Map([[claim.owner, claim.flow], [name, k]]));
    }
  }

  private unclaim(key: string, name: string): void {
    const claim = this.claims.get(key);
    if (claim === undefined) return;
    if (!(claim instanceof Map)) {
      if (claim.owner === name) this.claims.delete(key);
      return;
    }
    claim.delete(name);
    if (claim.size === 0) this.claims.delete(key);
    else if (claim.size === 1) {
      const [[owner, flow]] = claim;
      this.claims.set(key, { owner: owner!, flow: flow! });
    }
  }
}

function newest(claim: Claim | undefined): KeyedFlow | undefined {
  if (claim === undefined) return undefined;
  if (!(claim instanceof Map)) return claim.flow;
  let last: KeyedFlow | undefined;
  for (const k of claim.values()) last = k;
  return last;
}
