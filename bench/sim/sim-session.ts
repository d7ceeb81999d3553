/**
 * The messages of the simulated switch (sim-switch.ts) that read or set one
 * controller session's own state and leave the switch's tables alone:
 * FEATURES, BARRIER, GET/SET_CONFIG, GET/SET_ASYNC, NXT_SET_PACKET_IN_FORMAT,
 * NXT_SET_CONTROLLER_ID, ROLE_REQUEST and QUEUE_GET_CONFIG, answered as
 * Open vSwitch 3.1 answers them.
 */
import { NXPIF, OFP_DEFAULT_MISS_SEND_LEN, OFPP } from '../../protocols/openflow/constants';
import type { Decoded } from '../../protocols/openflow/messages';
import { answerRole, ERR, sendError, type Election, type SimSession, type SwitchState } from './sim-protocol';

/** FEATURES capabilities OVS reports: FLOW, TABLE, PORT, GROUP and QUEUE stats. */
const OVS_CAPABILITIES = 79;

/** Answers `msg` if it is one of this module's; false if the switch has to (a table change, a packet-out, an unknown type). */
export function answerSessionMessage(sw: SwitchState, election: Election, s: SimSession, msg: Decoded): boolean {
  switch (msg.type) {
    case 'hello':
    case 'echo_reply':
    case 'error':
      return true;
    case 'features_request':
      s.conn.send({
        type: 'features_reply', xid: msg.xid, datapathId: sw.datapathId, nBuffers: 0,
        nTables: sw.flows.nTables, auxiliaryId: 0, capabilities: OVS_CAPABILITIES,
      });
      return true;
    case 'barrier_request':
      s.conn.send({ type: 'barrier_reply', xid: msg.xid });
      return true;
    case 'get_config_request':
      s.conn.send({ type: 'get_config_reply', xid: msg.xid, flags: s.configFlags, missSendLen: s.missSendLen });
      return true;
    case 'set_config':
      s.configFlags = msg.flags ?? 0;
      s.missSendLen = msg.missSendLen ?? OFP_DEFAULT_MISS_SEND_LEN;
      return true;
    case 'get_async_request':
      s.conn.send({ type: 'get_async_reply', xid: msg.xid, ...s.async });
      return true;
    case 'set_async':
      s.async = { packetInMask: msg.packetInMask, portStatusMask: msg.portStatusMask, flowRemovedMask: msg.flowRemovedMask };
      return true;
    case 'nx_set_packet_in_format':
      if (msg.format > NXPIF.NXT_PACKET_IN2) sendError(sw, s, msg.xid, ERR.EPERM, msg);
      else s.packetInFormat = msg.format;
      return true;
    case 'nx_set_controller_id':
      s.controllerId = msg.controllerId;
      return true;
    case 'role_request':
      answerRole(sw, election, s, msg);
      return true;
    case 'queue_get_config_request': {
      const ports = msg.port === undefined || msg.port === OFPP.ANY ? [...sw.ports.keys()] : [msg.port];
      s.conn.send({
        type: 'queue_get_config_reply', xid: msg.xid, port: msg.port ?? OFPP.ANY,
        queues: ports.map((port) => ({ queueId: 0, port, properties: [] })),
      });
      return true;
    }
    default:
      return false;
  }
}
