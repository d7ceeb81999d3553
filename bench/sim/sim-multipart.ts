/**
 * Multipart requests of the simulated switch (sim-switch.ts), answered as
 * Open vSwitch 3.1 answers them: DESC, PORT_DESC, FLOW and AGGREGATE (from the
 * flow table), TABLE, PORT_STATS, GROUP_DESC/STATS, METER_FEATURES; long
 * replies are split with OFPMPF_REPLY_MORE.
 */
import { encodeMessage } from '../../protocols/openflow/codec';
import { OFPMPF, OFPP, OFPPS } from '../../protocols/openflow/constants';
import type { Decoded, FlowStats, MultipartReplyBody, MultipartRequest, Port } from '../../protocols/openflow/messages';
import type { OfErrorCode } from './flow-table';
import { ERR, MAX_REPLY_BODY, portMac, sendError, type SimSession, type SwitchState } from './sim-protocol';

export function answerMultipart(sw: SwitchState, s: SimSession, msg: Decoded<MultipartRequest>): void {
  const reply = (body: MultipartReplyBody): void => {
    s.conn.send({ type: 'multipart_reply', xid: msg.xid, body });
  };
  const b = msg.body;
  switch (b.kind) {
    case 'desc':
      return reply({ kind: 'desc', mfrDesc: 'Plexus', hwDesc: 'simulated switch', swDesc: 'plexus-sim 0.1', serialNum: 'None', dpDesc: sw.dpidHex });
    case 'port_desc':
      return reply({ kind: 'port_desc', entries: [...sw.ports.values(), localPort(sw)] });
    case 'flow': {
      const stats = sw.flows.stats(b);
      if (!Array.isArray(stats)) return sendError(sw, s, msg.xid, stats as OfErrorCode, msg);
      return sendFlowStats(s, msg.xid, stats);
    }
    case 'aggregate': {
      const stats = sw.flows.stats(b);
      if (!Array.isArray(stats)) return sendError(sw, s, msg.xid, stats as OfErrorCode, msg);
      return reply({ kind: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: stats.length });
    }
    case 'table': {
      const active = sw.flows.activeCounts();
      return reply({
        kind: 'table',
        entries: Array.from({ length: sw.flows.nTables }, (_, tableId) => ({ tableId, activeCount: active.get(tableId) ?? 0, lookupCount: 0n, matchedCount: 0n })),
      });
    }
    case 'port_stats': {
      const ports = b.portNo === undefined || b.portNo === OFPP.ANY ? [...sw.ports.keys()] : [b.portNo];
      const z = 0n;
      return reply({
        kind: 'port_stats',
        entries: ports.filter((p) => sw.ports.has(p)).map((portNo) => ({
          portNo, rxPackets: z, txPackets: z, rxBytes: z, txBytes: z, rxDropped: z, txDropped: z, rxErrors: z, txErrors: z,
          rxFrameErr: z, rxOverErr: z, rxCrcErr: z, collisions: z, durationSec: 0, durationNsec: 0,
        })),
      });
    }
    case 'group_desc':
      return reply({ kind: 'group_desc', entries: [...sw.groups.values()] });
    case 'group_stats':
      return reply({
        kind: 'group_stats',
        entries: [...sw.groups.values()].map((g) => ({
          groupId: g.groupId, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0,
          bucketStats: g.buckets.map(() => ({ packetCount: 0n, byteCount: 0n })),
        })),
      });
    case 'queue_stats':
      return reply({ kind: 'queue_stats', entries: [] });
    case 'meter_stats':
      return reply({ kind: 'meter_stats', entries: [] });
    case 'meter_config':
      return reply({ kind: 'meter_config', entries: [] });
    case 'meter_features':
      // What OVS 3.1 reports on a dummy datapath.
      return reply({ kind: 'meter_features', maxMeter: 262144, bandTypes: 2, capabilities: 15, maxBands: 8, maxColor: 0 });
    case 'experimenter':
      return sendError(sw, s, msg.xid, ERR.BAD_EXPERIMENTER, msg);
    default:
      // table_features, group_features and unknown kinds are not simulated.
      return sendError(sw, s, msg.xid, ERR.BAD_MULTIPART, msg);
  }
}

/** Flow stats in as many OFPMPF_REPLY_MORE parts as the 16-bit length needs. */
function sendFlowStats(s: SimSession, xid: number, stats: FlowStats[]): void {
  let part: FlowStats[] = [];
  let bytes = 0;
  const parts: FlowStats[][] = [];
  for (const f of stats) {
    const size = flowStatsSize(f);
    if (bytes + size > MAX_REPLY_BODY && part.length) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(f);
    bytes += size;
  }
  parts.push(part);
  parts.forEach((entries, i) => {
    s.conn.send({ type: 'multipart_reply', xid, flags: i < parts.length - 1 ? OFPMPF.REPLY_MORE : 0, body: { kind: 'flow', entries } });
  });
}

function localPort(sw: SwitchState): Port {
  return {
    portNo: OFPP.LOCAL, hwAddr: portMac(sw.datapathId, 0), name: 'br-int', config: 0, state: OFPPS.LIVE,
    curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
  };
}

/** Encoded size of one ofp_flow_stats entry. */
function flowStatsSize(f: FlowStats): number {
  return encodeMessage({ type: 'multipart_reply', body: { kind: 'flow', entries: [f] } }).length - 16;
}
