/**
 * The meters of one host (QoS rate limits, compiler/qos.ts): per partition, as
 * flows are, and diffed against what the switch reports (meter config multipart).
 *
 * Ordering on the switch (the caller's): meter adds/modifies before the flows
 * that reference them, flow deletes before the meter deletes (Open vSwitch
 * removes the flows of a deleted meter itself, and bundles carry no meter mods).
 */
import { OFPMC, OFPMF } from '../../protocols/openflow/constants';
import type { MeterConfig, MeterMod } from '../../protocols/openflow/messages';
import type { MeterSpec } from '../pipeline/meter';

/** Flags every Plexus meter has: rates in kb/s, burst given. */
export const METER_FLAGS = OFPMF.KBPS | OFPMF.BURST;

export interface MeterDiff {
  readonly adds: readonly MeterSpec[];
  readonly modifies: readonly MeterSpec[];
  readonly deletes: readonly number[];
}

export class DesiredMeters {
  private readonly partitions = new Map<string, readonly MeterSpec[]>();
  private merged = new Map<number, MeterSpec>();
  /** Meter ids two owners derived (hash collisions): the first owner keeps it. */
  collisions: string[] = [];

  get meters(): ReadonlyMap<number, MeterSpec> {
    return this.merged;
  }

  /** Replaces one partition's meters; returns whether the desired set changed. */
  setPartition(name: string, meters: readonly MeterSpec[]): boolean {
    const old = this.partitions.get(name) ?? [];
    if (old.length === 0 && meters.length === 0) return false;
    if (meters.length) this.partitions.set(name, meters);
    else this.partitions.delete(name);
    const next = new Map<number, MeterSpec>();
    const collisions: string[] = [];
    for (const list of this.partitions.values()) {
      for (const m of list) {
        const have = next.get(m.meterId);
        if (have && have.owner !== m.owner) collisions.push(`meter ${m.meterId}: ${have.owner} and ${m.owner}`);
        else next.set(m.meterId, m);
      }
    }
    const changed = next.size !== this.merged.size || [...next].some(([id, m]) => !sameMeter(this.merged.get(id), m));
    this.merged = next;
    this.collisions = collisions;
    return changed;
  }
}

function sameMeter(a: MeterSpec | undefined, b: MeterSpec): boolean {
  return a !== undefined && a.rateKbps === b.rateKbps && a.burstKb === b.burstKb;
}

/** Whether an installed meter is what `want` asks for (flags, one drop band, rate, burst). */
function matchesInstalled(have: MeterConfig, want: MeterSpec): boolean {
  const band = have.bands[0];
  return (
    (have.flags & (OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST)) === METER_FLAGS &&
    have.bands.length === 1 &&
    band?.type === 'drop' &&
    band.rate === want.rateKbps &&
    (band.burstSize ?? 0) === want.burstKb
  );
}

export function diffMeters(desired: ReadonlyMap<number, MeterSpec>, installed: ReadonlyMap<number, MeterConfig>): MeterDiff {
  const adds: MeterSpec[] = [];
  const modifies: MeterSpec[] = [];
  const deletes: number[] = [];
  for (const [id, want] of desired) {
    const have = installed.get(id);
    if (!have) adds.push(want);
    else if (!matchesInstalled(have, want)) modifies.push(want);
  }
  for (const id of installed.keys()) if (!desired.has(id)) deletes.push(id);
  return { adds, modifies, deletes };
}

export function meterMod(m: MeterSpec, command: number): MeterMod {
  return { type: 'meter_mod', command, flags: METER_FLAGS, meterId: m.meterId, bands: [{ type: 'drop', rate: m.rateKbps, burstSize: m.burstKb }] };
}

export function meterDelete(meterId: number): MeterMod {
  return { type: 'meter_mod', command: OFPMC.DELETE, flags: 0, meterId };
}

/** What the switch would report for a meter we installed (kept as the installed state after a write). */
export function asInstalled(m: MeterSpec): MeterConfig {
  return { flags: METER_FLAGS, meterId: m.meterId, bands: [{ type: 'drop', rate: m.rateKbps, burstSize: m.burstKb }] };
}
