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
 *   partitions: partition ──▶ its flows (keyed; one array, often shared between hosts)
 *   shared:     key ──▶ partition ──▶ flow   (only keys with several claims; newest change last)
 *   desired:    key ──▶ flow of the newest claim (what diffFlows compares)
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
 * A partition's flows keyed, one per key (the last of a key wins), by the array
 * they came from: a partition compiled once for many hosts (an endpoint's flows
 * on every host it is not attached to) is encoded once, and every host's
 * desired set holds the same KeyedFlows. (The compiler shares arrays, never
 * single flows between arrays, so one cache entry per array is all it takes: a
 * WeakMap entry per flow cost more than encoding the flow.)
 */
const keyedListOf = new WeakMap<readonly Flow[], readonly KeyedFlow[]>();

function keyedList(flows: readonly Flow[]): readonly KeyedFlow[] {
  let list = keyedListOf.get(flows);
  if (!list) {
    const byKey = new Map<string, KeyedFlow>();
    for (const f of flows) {
      const k = keyed(f);
      const size = byKey.size;
      byKey.set(k.key, k);
      if (byKey.size === size) {
        // A repeated key: the last flow wins, in the last one's place.
        byKey.delete(k.key);
        byKey.set(k.key, k);
      }
    }
    keyedListOf.set(flows, (list = [...byKey.values()]));
  }
  return list;
}

/** Finds a partition's flow by key: a scan for the few flows of an endpoint, a map for a big partition. */
function finder(list: readonly KeyedFlow[]): (key: string) => KeyedFlow | undefined {
  if (list.length <= 16) return (key) => list.find((k) => k.key === key);
  const m = new Map(list.map((k) => [k.key, k]));
  return (key) => m.get(key);
}

const NONE: readonly KeyedFlow[] = [];

/** Told, for every key whose desired flow changed, what it was before (undefined: not desired). */
export type OnDesiredChange = (key: string, before: KeyedFlow | undefined) => void;

/**
 * Memory is what one host costs a member (issue 17 item 7): per desired flow one
 * map entry (`byKey`), per partition one entry holding an array (the same array
 * on every host that got the partition compiled in one batch); a key's claims
 * are kept as a map only while several partitions claim it (rare).
 */
export class DesiredFlows {
  private readonly byKey = new Map<string, KeyedFlow>();
  /** Keys claimed by more than one partition: every claim, oldest change first. */
  private readonly shared = new Map<string, Map<string, KeyedFlow>>();
  private readonly partitions = new Map<string, readonly KeyedFlow[]>();

  /** The flow wanted for each key (the newest claim's), for diffing. */
  get flows(): ReadonlyMap<string, KeyedFlow> {
    return this.byKey;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** How many partitions want `key` (0: it is not desired). */
  refCount(key: string): number {
    return this.shared.get(key)?.size ?? (this.byKey.has(key) ? 1 : 0);
  }

  /** Partitions that claim `key`, oldest change first. */
  claimants(key: string): string[] {
    const s = this.shared.get(key);
    if (s) return [...s.keys()];
    const one = this.byKey.has(key) ? this.claimantOf(key) : undefined;
    return one === undefined ? [] : [one];
  }

  /** The one partition claiming `key` besides `except` (a scan: only when a second claim arrives). */
  private claimantOf(key: string, except?: string): string | undefined {
    for (const [name, list] of this.partitions) if (name !== except && list.some((k) => k.key === key)) return name;
    return undefined;
  }

  /**
   * Replaces what partition `name` wants. Returns the keys whose desired flow
   * changed (added, removed or different), which are all a diff must look at;
   * `onChange` also hears what each of them was before.
   */
  setPartition(name: string, flows: readonly Flow[], onChange?: OnDesiredChange): Set<string> {
    const next = flows.length ? keyedList(flows) : NONE;
    const old = this.partitions.get(name) ?? NONE;
    const inOld = finder(old);
    const changed = new Set<string>();
    const note = (key: string, before: KeyedFlow | undefined, after: KeyedFlow | undefined): void => {
      if (before?.fp === after?.fp) return;
      changed.add(key);
      onChange?.(key, before);
    };
    for (const k of next) {
      const prev = old.length ? inOld(k.key) : undefined;
      if (prev?.fp === k.fp) continue; // same claim, same place
      const before = this.byKey.get(k.key);
      const claims = this.shared.size ? this.shared.get(k.key) : undefined;
      if (claims) {
        claims.delete(name);
        claims.set(name, k);
      } else if (before !== undefined && prev === undefined) {
        const other = this.claimantOf(k.key, name);
        const m = new Map<string, KeyedFlow>();
        if (other !== undefined) m.set(other, before);
        m.set(name, k);
        this.shared.set(k.key, m);
      }
      this.byKey.set(k.key, k); // the newest claim wins
      note(k.key, before, k);
    }
    if (old.length) {
      const inNext = finder(next);
      for (const k of old) {
        if (inNext(k.key)) continue;
        const before = this.byKey.get(k.key);
        const claims = this.shared.get(k.key);
        let after: KeyedFlow | undefined;
        if (claims) {
          claims.delete(name);
          after = newest(claims);
          if (claims.size <= 1) this.shared.delete(k.key);
        }
        if (after) this.byKey.set(k.key, after);
        else this.byKey.delete(k.key);
        note(k.key, before, after);
      }
    }
    if (next.length) this.partitions.set(name, next);
    else this.partitions.delete(name);
    return changed;
  }
}

function newest(claim: ReadonlyMap<string, KeyedFlow> | undefined): KeyedFlow | undefined {
  let last: KeyedFlow | undefined;
  for (const k of claim?.values() ?? []) last = k;
  return last;
}
