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
import { fingerprint, flowKey } from './flow-key';

/**
 * Keyed flows by the flow object they came from: a flow compiled once for many
 * hosts (an endpoint's flows on every host it is not attached to) is encoded
 * once, and every host's desired set holds the same KeyedFlow.
 */
const keyedOf = new WeakMap<Flow, KeyedFlow>();

/** A flow with its key and fingerprint computed once. */
export function keyed(flow: Flow): KeyedFlow {
  let k = keyedOf.get(flow);
  if (!k) keyedOf.set(flow, (k = keyFlow(flow)));
  return k;
}

function keyFlow(flow: Flow): KeyedFlow {
  return {
    key: flowKey({ tableId: flow.table.id, priority: flow.priority, match: flow.match }),
    tableId: flow.table.id,
    priority: flow.priority,
    match: flow.match,
    cookie: flow.cookie,
    instructions: flow.instructions,
    fp: fingerprint(flow.cookie, flow.instructions),
  };
}

export class DesiredFlows {
  private readonly byKey = new Map<string, KeyedFlow>();
  private readonly claims = new Map<string, Map<string, KeyedFlow>>();
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
    return this.claims.get(key)?.size ?? 0;
  }

  /** Partitions that claim `key`, oldest change first. */
  claimants(key: string): string[] {
    return [...(this.claims.get(key)?.keys() ?? [])];
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
      let claim = this.claims.get(key);
      if (!claim) this.claims.set(key, (claim = new Map()));
      claim.delete(name);
      claim.set(name, k);
      touched.push(key);
    }
    for (const key of old?.keys() ?? []) {
      if (next.has(key)) continue;
      const claim = this.claims.get(key)!;
      claim.delete(name);
      if (claim.size === 0) this.claims.delete(key);
      touched.push(key);
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
}

function newest(claim: ReadonlyMap<string, KeyedFlow> | undefined): KeyedFlow | undefined {
  let last: KeyedFlow | undefined;
  for (const k of claim?.values() ?? []) last = k;
  return last;
}
