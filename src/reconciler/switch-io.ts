/**
 * What the host reconciler (host-flows.ts) says to and reads from a switch
 * besides flow mods: the full read-back of flows and meters on (re)connect,
 * and meter mods, which Open vSwitch does not take in bundles (adds and
 * modifies go before the flows using them, deletes after).
 */
import { PlexusError } from '../../protocols/common/errors';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import { OFPG, OFPM, OFPMC, OFPP, OFPTT } from '../../protocols/openflow/constants';
import type { Decoded, MeterConfig, MultipartReply } from '../../protocols/openflow/messages';
import type { KeyedFlow } from './diff';
import { fingerprint, flowKey } from './flow-key';
import { asInstalled, meterDelete, meterMod, type diffMeters } from './meters';

export class ReconcileError extends PlexusError {
  override readonly name = 'ReconcileError';
}

type MeterDiff = ReturnType<typeof diffMeters>;

/**
 * Meter adds and modifies; a meter the switch refuses is remembered with its
 * reason (the drill-down shows it) and fails the pass. Returns how many were sent.
 */
export async function sendMeterUpdates(
  conn: OpenFlowConnection, meters: MeterDiff, installed: Map<number, MeterConfig>, errorsById: Map<number, string>,
  onRefused: (meterId: number, reason: string) => void,
): Promise<number> {
  const ups = [...meters.adds.map((m) => meterMod(m, OFPMC.ADD)), ...meters.modifies.map((m) => meterMod(m, OFPMC.MODIFY))];
  if (!ups.length) return 0;
  const errors = await conn.sendBatch(ups);
  for (const m of [...meters.adds, ...meters.modifies]) errorsById.delete(m.meterId);
  for (const e of errors) {
    // The switch echoes the refused METER_MOD: its meter_id follows header, command and flags.
    const meterId = e.data.length >= 16 ? e.data.readUInt32BE(12) : 0;
    errorsById.set(meterId, e.message);
    onRefused(meterId, e.message);
  }
  if (errors.length) {
    throw new ReconcileError(`switch refused ${errors.length} meter(s): ${errors.map((e) => e.message).join('; ')}`);
  }
  for (const m of [...meters.adds, ...meters.modifies]) installed.set(m.meterId, asInstalled(m));
  return ups.length;
}

/** Meter deletes (after the flows that used them are gone). */
export async function sendMeterDeletes(conn: OpenFlowConnection, deletes: readonly number[], installed: Map<number, MeterConfig>, errorsById: Map<number, string>): Promise<void> {
  if (!deletes.length) return;
  const errors = await conn.sendBatch(deletes.map(meterDelete));
  if (errors.length) throw new ReconcileError(`switch refused a meter delete: ${errors.map((e) => e.message).join('; ')}`);
  for (const id of deletes) {
    installed.delete(id);
    errorsById.delete(id);
  }
}

/** Every meter on the switch (meter config of OFPM_ALL). */
export async function readMeters(conn: OpenFlowConnection): Promise<Map<number, MeterConfig>> {
  const reply = (await conn.request({ type: 'multipart_request', body: { kind: 'meter_config', meterId: OFPM.ALL } })) as Decoded<MultipartReply>;
  if (reply.body.kind !== 'meter_config') throw new ReconcileError(`expected meter config, got ${reply.body.kind}`);
  return new Map(reply.body.entries.map((m) => [m.meterId, m]));
}

/** Every flow on the switch (flow stats of all tables), keyed as the desired flows are. */
export async function readInstalled(conn: OpenFlowConnection): Promise<Map<string, KeyedFlow>> {
  const reply = (await conn.request({
    type: 'multipart_request',
    body: { kind: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] },
  })) as Decoded<MultipartReply>;
  if (reply.body.kind !== 'flow') throw new ReconcileError(`expected flow stats, got ${reply.body.kind}`);
  const out = new Map<string, KeyedFlow>();
  for (const s of reply.body.entries) {
    const k: KeyedFlow = {
      key: flowKey(s),
      tableId: s.tableId,
      priority: s.priority,
      match: s.match,
      cookie: s.cookie,
      instructions: s.instructions,
      fp: fingerprint(s.cookie, s.instructions),
    };
    out.set(k.key, k);
  }
  return out;
}
