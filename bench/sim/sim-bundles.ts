/**
 * ONF bundles (EXT-230) of the simulated switch (sim-switch.ts), with OVS's
 * behaviour (ofproto/bundles.c, ofproto.c): open/add/close/commit/discard;
 * an error about the bundle itself discards it; an error in one message added
 * to it rejects only that message; a commit applies every message or, on the
 * first failure, none (OFPBFC_MSG_FAILED) and discards the bundle.
 */
import { OFPBCT, OFPCR_ROLE } from '../../protocols/openflow/constants';
import type { Decoded, FlowMod, OfpMessage, PacketOut } from '../../protocols/openflow/messages';
import type { FlowChange, OfErrorCode } from './flow-table';
import { ERR, sendError, type Bundle, type SimSession, type SwitchState } from './sim-protocol';

/** The switch as bundles change it. */
export interface BundleTarget extends SwitchState {
  applyGroupMod(msg: Extract<OfpMessage, { type: 'group_mod' }>): OfErrorCode | undefined;
  /** A commit applied: count and report its flow mods, flow changes and packet-outs. */
  committed(s: SimSession, applied: readonly FlowMod[], changes: readonly FlowChange[], outs: readonly Decoded<PacketOut>[]): void;
}

export function onBundleControl(sw: BundleTarget, s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'bundle_control' }>>): void {
  if (s.role === OFPCR_ROLE.SLAVE) return sendError(sw, s, msg.xid, ERR.IS_SLAVE, msg);
  const flags = msg.flags ?? 0;
  const b = s.bundles.get(msg.bundleId);
  const fail = (e: OfErrorCode): void => {
    s.bundles.delete(msg.bundleId);
    sendError(sw, s, msg.xid, e, msg);
  };
  const ok = (ctrlType: number): void => {
    s.conn.send({ type: 'bundle_control', xid: msg.xid, bundleId: msg.bundleId, ctrlType, flags: 0 });
  };
  switch (msg.ctrlType) {
    case OFPBCT.OPEN_REQUEST:
      if (b) return fail(ERR.BUNDLE_BAD_ID);
      s.bundles.set(msg.bundleId, { flags, isClosed: false, msgs: [] });
      return ok(OFPBCT.OPEN_REPLY);
    case OFPBCT.CLOSE_REQUEST:
      if (!b) return fail(ERR.BUNDLE_BAD_ID);
      if (b.isClosed) return fail(ERR.BUNDLE_CLOSED);
      if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
      b.isClosed = true;
      return ok(OFPBCT.CLOSE_REPLY);
    case OFPBCT.COMMIT_REQUEST:
      if (!b) return fail(ERR.BUNDLE_BAD_ID);
      if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
      s.bundles.delete(msg.bundleId);
      return commit(sw, s, msg, b) ? ok(OFPBCT.COMMIT_REPLY) : undefined;
    case OFPBCT.DISCARD_REQUEST:
      if (!b) return fail(ERR.BUNDLE_BAD_ID);
      s.bundles.delete(msg.bundleId);
      return ok(OFPBCT.DISCARD_REPLY);
    default:
      return fail(ERR.BUNDLE_BAD_TYPE);
  }
}

export function onBundleAdd(sw: BundleTarget, s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'bundle_add' }>>): void {
  if (s.role === OFPCR_ROLE.SLAVE) return sendError(sw, s, msg.xid, ERR.IS_SLAVE, msg);
  const inner = msg.message;
  if (inner.xid !== msg.xid) return sendError(sw, s, msg.xid, ERR.BUNDLE_MSG_BAD_XID, msg);
  const flags = msg.flags ?? 0;
  let b = s.bundles.get(msg.bundleId);
  const fail = (e: OfErrorCode): void => {
    s.bundles.delete(msg.bundleId);
    sendError(sw, s, msg.xid, e, msg);
  };
  if (!b) s.bundles.set(msg.bundleId, (b = { flags, isClosed: false, msgs: [] }));
  else if (b.isClosed) return fail(ERR.BUNDLE_CLOSED);
  else if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
  switch (inner.type) {
    case 'flow_mod': {
      const checked = sw.flows.validate(inner);
      if ('errType' in checked) return sendError(sw, s, msg.xid, checked, msg);
      b.msgs.push({ xid: msg.xid, add: msg, checked });
      return;
    }
    case 'packet_out':
    case 'group_mod':
    case 'port_mod':
      b.msgs.push({ xid: msg.xid, add: msg });
      return;
    default:
      return sendError(sw, s, msg.xid, ERR.BUNDLE_MSG_UNSUP, msg);
  }
}

/** Applies a bundle atomically; false (errors sent) when a message failed and nothing was applied. */
function commit(sw: BundleTarget, s: SimSession, control: Decoded<Extract<OfpMessage, { type: 'bundle_control' }>>, b: Bundle): boolean {
  const saved = sw.flows.snapshot();
  const savedGroups = new Map(sw.groups);
  const outs: Decoded<PacketOut>[] = [];
  const applied: FlowMod[] = [];
  for (const m of b.msgs) {
    const inner = (m.add as Extract<OfpMessage, { type: 'bundle_add' }>).message as Decoded;
    let err: OfErrorCode | undefined;
    if (m.checked) {
      err = sw.flows.apply(m.checked);
      if (!err) applied.push(m.checked.mod);
    } else if (inner.type === 'group_mod') {
      err = sw.applyGroupMod(inner);
    } else if (inner.type === 'port_mod') {
      if (!sw.ports.has(inner.portNo)) err = ERR.PORT_BAD;
    } else if (inner.type === 'packet_out') {
      outs.push(inner);
    }
    if (err) {
      sw.flows.takeChanges();
      sw.flows.restore(saved);
      sw.groups.clear();
      for (const [k, v] of savedGroups) sw.groups.set(k, v);
      sendError(sw, s, m.xid, err, m.add);
      sendError(sw, s, control.xid, ERR.BUNDLE_MSG_FAILED, control);
      return false;
    }
  }
  sw.committed(s, applied, sw.flows.takeChanges(), outs);
  return true;
}
