/**
 * OpenFlow 1.3 messages as readonly plain objects, discriminated by `type`.
 * `xid` is optional when encoding (the connection assigns one) and always set on
 * decoded messages. Field names follow the specification without the ofp_ prefix.
 */
import type { Action } from './actions';
import type { Instruction } from './instructions';
import type { Match } from './match';

interface Base {
  readonly xid?: number;
}

/** OFPT_HELLO (§7.5.1). `versions` is the version bitmap element, if present. */
export interface Hello extends Base {
  readonly type: 'hello';
  readonly versions?: readonly number[];
}

/** OFPT_ERROR (§7.5.4). */
export interface ErrorMsg extends Base {
  readonly type: 'error';
  readonly errType: number;
  /** For OFPET_EXPERIMENTER this is the experimenter-defined exp_type. */
  readonly code: number;
  /** Only with errType OFPET_EXPERIMENTER (0xffff): ofp_error_experimenter_msg.experimenter. */
  readonly experimenter?: number;
  /** Usually the first bytes (at least 64) of the failed request. */
  readonly data: Buffer;
}

export interface EchoRequest extends Base {
  readonly type: 'echo_request';
  readonly data?: Buffer;
}
export interface EchoReply extends Base {
  readonly type: 'echo_reply';
  readonly data?: Buffer;
}

export interface FeaturesRequest extends Base {
  readonly type: 'features_request';
}
/** OFPT_FEATURES_REPLY (§7.3.1). */
export interface FeaturesReply extends Base {
  readonly type: 'features_reply';
  readonly datapathId: bigint;
  readonly nBuffers: number;
  readonly nTables: number;
  readonly auxiliaryId: number;
  readonly capabilities: number;
}

/** OFPT_FLOW_MOD (§7.3.4.1). */
export interface FlowMod extends Base {
  readonly type: 'flow_mod';
  readonly cookie?: bigint;
  readonly cookieMask?: bigint;
  readonly tableId?: number;
  /** OFPFC value; default ADD. */
  readonly command?: number;
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly priority?: number;
  readonly bufferId?: number;
  readonly outPort?: number;
  readonly outGroup?: number;
  readonly flags?: number;
  readonly match: Match;
  readonly instructions?: readonly Instruction[];
  /**
   * `match` and `instructions` already encoded: the ofp_match (padded) followed
   * by the instruction list, exactly as encodeMatch + encodeInstructions write
   * them. When present it is sent as is (the reconciler encodes a flow once, for
   * its key, fingerprint and wire; src/reconciler/flow-key.ts).
   */
  readonly encoded?: Uint8Array;
}

export interface BarrierRequest extends Base {
  readonly type: 'barrier_request';
}
export interface BarrierReply extends Base {
  readonly type: 'barrier_reply';
}

/** OFPT_EXPERIMENTER (§7.5.4) with an experimenter/exp_type we do not model: opaque. */
export interface ExperimenterMsg extends Base {
  readonly type: 'experimenter';
  readonly experimenter: number;
  readonly expType: number;
  readonly data?: Buffer;
}

/** A message type this codec does not know (e.g. from a later version): opaque body. */
export interface UnknownMsg extends Base {
  readonly type: 'unknown';
  readonly msgType: number;
  readonly body: Buffer;
}

/** OFPT_GET_CONFIG_REQUEST (§7.3.2). */
export interface GetConfigRequest extends Base {
  readonly type: 'get_config_request';
}
/** OFPT_GET_CONFIG_REPLY (§7.3.2): ofp_switch_config. */
export interface GetConfigReply extends Base {
  readonly type: 'get_config_reply';
  /** OFPC_* fragment handling; default 0 (FRAG_NORMAL). */
  readonly flags?: number;
  /** Default 128 (OFP_DEFAULT_MISS_SEND_LEN). */
  readonly missSendLen?: number;
}
/** OFPT_SET_CONFIG (§7.3.2): ofp_switch_config. */
export interface SetConfig extends Base {
  readonly type: 'set_config';
  readonly flags?: number;
  readonly missSendLen?: number;
}

/** OFPT_PACKET_IN (§7.4.1). */
export interface PacketIn extends Base {
  readonly type: 'packet_in';
  /** Default OFP_NO_BUFFER. */
  readonly bufferId?: number;
  /** Full length of the frame; default data.length. */
  readonly totalLen?: number;
  /** OFPR_*. */
  readonly reason: number;
  readonly tableId: number;
  /** Default 0xffff_ffff_ffff_ffff (not from a flow). */
  readonly cookie?: bigint;
  readonly match: Match;
  readonly data: Buffer;
}

/** OFPT_FLOW_REMOVED (§7.4.2). */
export interface FlowRemoved extends Base {
  readonly type: 'flow_removed';
  readonly cookie: bigint;
  readonly priority: number;
  /** OFPRR_*. */
  readonly reason: number;
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
}

/** ofp_port (§7.2.1). Speeds in kbps. */
export interface Port {
  readonly portNo: number;
  /** 'aa:bb:cc:dd:ee:ff' */
  readonly hwAddr: string;
  readonly name: string;
  /** OFPPC_* bits. */
  readonly config: number;
  /** OFPPS_* bits. */
  readonly state: number;
  /** OFPPF_* bits. */
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
  readonly currSpeed: number;
  readonly maxSpeed: number;
}

/** OFPT_PORT_STATUS (§7.4.3). */
export interface PortStatus extends Base {
  readonly type: 'port_status';
  /** OFPPR_*. */
  readonly reason: number;
  readonly port: Port;
}

/** OFPT_PACKET_OUT (§7.3.7). */
export interface PacketOut extends Base {
  readonly type: 'packet_out';
  /** Default OFP_NO_BUFFER. */
  readonly bufferId?: number;
  /** Default OFPP_CONTROLLER. */
  readonly inPort?: number;
  readonly actions: readonly Action[];
  /** The frame, when bufferId is OFP_NO_BUFFER. */
  readonly data?: Buffer;
}

/** ofp_bucket (§7.3.4.2). */
export interface Bucket {
  /** Default 0 (only select groups use weights). */
  readonly weight?: number;
  /** Default OFPP_ANY. */
  readonly watchPort?: number;
  /** Default OFPG_ANY. */
  readonly watchGroup?: number;
  readonly actions: readonly Action[];
}

/** OFPT_GROUP_MOD (§7.3.4.2). */
export interface GroupMod extends Base {
  readonly type: 'group_mod';
  /** OFPGC_*; default ADD. */
  readonly command?: number;
  /** OFPGT_*; default ALL. */
  readonly groupType?: number;
  readonly groupId: number;
  readonly buckets?: readonly Bucket[];
}

/** OFPT_PORT_MOD (§7.3.4.3). */
export interface PortMod extends Base {
  readonly type: 'port_mod';
  readonly portNo: number;
  readonly hwAddr: string;
  readonly config: number;
  readonly mask: number;
  /** Default 0: do not change. */
  readonly advertise?: number;
}

/** OFPT_TABLE_MOD (§7.3.3). */
export interface TableMod extends Base {
  readonly type: 'table_mod';
  readonly tableId: number;
  /** Default 0. */
  readonly config?: number;
}

/** Meter bands (§7.3.4.4). Rates in kb/s or packets/s per the meter's flags. */
export type MeterBand =
  | { readonly type: 'drop'; readonly rate: number; readonly burstSize?: number }
  | { readonly type: 'dscp_remark'; readonly rate: number; readonly burstSize?: number; readonly precLevel: number }
  | {
      readonly type: 'experimenter';
      readonly rate: number;
      readonly burstSize?: number;
      readonly experimenter: number;
      readonly data?: Buffer;
    };

/** OFPT_METER_MOD (§7.3.4.4). */
export interface MeterMod extends Base {
  readonly type: 'meter_mod';
  /** OFPMC_*; default ADD. */
  readonly command?: number;
  /** OFPMF_*; default KBPS. */
  readonly flags?: number;
  readonly meterId: number;
  readonly bands?: readonly MeterBand[];
}

/** Fields shared by the flow and aggregate stats requests (§7.3.5.2, §7.3.5.3). */
export interface FlowStatsFilter {
  /** Default OFPTT_ALL. */
  readonly tableId?: number;
  /** Default OFPP_ANY. */
  readonly outPort?: number;
  /** Default OFPG_ANY. */
  readonly outGroup?: number;
  readonly cookie?: bigint;
  readonly cookieMask?: bigint;
  /** Default: match everything. */
  readonly match?: Match;
}

/** Body of an OFPT_MULTIPART_REQUEST (§7.3.5), by `kind`. */
export type MultipartRequestBody =
  | { readonly kind: 'desc' }
  | ({ readonly kind: 'flow' } & FlowStatsFilter)
  | ({ readonly kind: 'aggregate' } & FlowStatsFilter)
  | { readonly kind: 'table' }
  /** portNo default OFPP_ANY */
  | { readonly kind: 'port_stats'; readonly portNo?: number }
  /** portNo default OFPP_ANY, queueId default OFPQ_ALL */
  | { readonly kind: 'queue_stats'; readonly portNo?: number; readonly queueId?: number }
  /** groupId default OFPG_ALL */
  | { readonly kind: 'group_stats'; readonly groupId?: number }
  | { readonly kind: 'group_desc' }
  | { readonly kind: 'group_features' }
  /** meterId default OFPM_ALL */
  | { readonly kind: 'meter_stats'; readonly meterId?: number }
  | { readonly kind: 'meter_config'; readonly meterId?: number }
  | { readonly kind: 'meter_features' }
  /** Table features request; an empty body asks without changing anything. */
  | { readonly kind: 'table_features'; readonly data?: Buffer }
  | { readonly kind: 'port_desc' }
  | { readonly kind: 'experimenter'; readonly experimenter: number; readonly expType: number; readonly data?: Buffer }
  | { readonly kind: 'unknown'; readonly mpType: number; readonly data: Buffer };

export type MultipartKind = MultipartRequestBody['kind'];

/** ofp_flow_stats (§7.3.5.2). */
export interface FlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: number;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
}

/** ofp_table_stats (§7.3.5.4). */
export interface TableStats {
  readonly tableId: number;
  readonly activeCount: number;
  readonly lookupCount: bigint;
  readonly matchedCount: bigint;
}

/** ofp_port_stats (§7.3.5.6). */
export interface PortStats {
  readonly portNo: number;
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
  readonly rxErrors: bigint;
  readonly txErrors: bigint;
  readonly rxFrameErr: bigint;
  readonly rxOverErr: bigint;
  readonly rxCrcErr: bigint;
  readonly collisions: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

/** ofp_queue_stats (§7.3.5.8). */
export interface QueueStats {
  readonly portNo: number;
  readonly queueId: number;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

/** ofp_group_stats (§7.3.5.9). */
export interface GroupStats {
  readonly groupId: number;
  readonly refCount: number;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly bucketStats: readonly { readonly packetCount: bigint; readonly byteCount: bigint }[];
}

/** ofp_group_desc (§7.3.5.10). */
export interface GroupDesc {
  readonly groupType: number;
  readonly groupId: number;
  readonly buckets: readonly Bucket[];
}

/** ofp_meter_stats (§7.3.5.12). */
export interface MeterStats {
  readonly meterId: number;
  readonly flowCount: number;
  readonly packetInCount: bigint;
  readonly byteInCount: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly bandStats: readonly { readonly packetBandCount: bigint; readonly byteBandCount: bigint }[];
}

/** ofp_meter_config (§7.3.5.13). */
export interface MeterConfig {
  readonly flags: number;
  readonly meterId: number;
  readonly bands: readonly MeterBand[];
}

/** ofp_table_features (§7.3.5.5.1); the property list is kept opaque. */
export interface TableFeatures {
  readonly tableId: number;
  readonly name: string;
  readonly metadataMatch: bigint;
  readonly metadataWrite: bigint;
  readonly config: number;
  readonly maxEntries: number;
  readonly properties: Buffer;
}

/**
 * Body of an OFPT_MULTIPART_REPLY (§7.3.5), by `kind`. Every list-valued body
 * carries `entries`, so the parts of an OFPMPF_REPLY_MORE sequence are
 * reassembled by concatenating them.
 */
export type MultipartReplyBody =
  | {
      readonly kind: 'desc';
      readonly mfrDesc: string;
      readonly hwDesc: string;
      readonly swDesc: string;
      readonly serialNum: string;
      readonly dpDesc: string;
    }
  | { readonly kind: 'flow'; readonly entries: readonly FlowStats[] }
  | { readonly kind: 'aggregate'; readonly packetCount: bigint; readonly byteCount: bigint; readonly flowCount: number }
  | { readonly kind: 'table'; readonly entries: readonly TableStats[] }
  | { readonly kind: 'port_stats'; readonly entries: readonly PortStats[] }
  | { readonly kind: 'queue_stats'; readonly entries: readonly QueueStats[] }
  | { readonly kind: 'group_stats'; readonly entries: readonly GroupStats[] }
  | { readonly kind: 'group_desc'; readonly entries: readonly GroupDesc[] }
  | {
      readonly kind: 'group_features';
      readonly types: number;
      readonly capabilities: number;
      /** Indexed by OFPGT_*. */
      readonly maxGroups: readonly [number, number, number, number];
      /** Bitmaps of OFPAT_* per OFPGT_*. */
      readonly actions: readonly [number, number, number, number];
    }
  | { readonly kind: 'meter_stats'; readonly entries: readonly MeterStats[] }
  | { readonly kind: 'meter_config'; readonly entries: readonly MeterConfig[] }
  | {
      readonly kind: 'meter_features';
      readonly maxMeter: number;
      readonly bandTypes: number;
      readonly capabilities: number;
      readonly maxBands: number;
      readonly maxColor: number;
    }
  | { readonly kind: 'table_features'; readonly entries: readonly TableFeatures[] }
  | { readonly kind: 'port_desc'; readonly entries: readonly Port[] }
  | { readonly kind: 'experimenter'; readonly experimenter: number; readonly expType: number; readonly data?: Buffer }
  | { readonly kind: 'unknown'; readonly mpType: number; readonly data: Buffer };

/** OFPT_MULTIPART_REQUEST (§7.3.5). */
export interface MultipartRequest extends Base {
  readonly type: 'multipart_request';
  /** OFPMPF_REQ_MORE; default 0. */
  readonly flags?: number;
  readonly body: MultipartRequestBody;
}
/** OFPT_MULTIPART_REPLY (§7.3.5). */
export interface MultipartReply extends Base {
  readonly type: 'multipart_reply';
  /** OFPMPF_REPLY_MORE; default 0. */
  readonly flags?: number;
  readonly body: MultipartReplyBody;
}

/** OFPT_QUEUE_GET_CONFIG_REQUEST (§7.3.6). */
export interface QueueGetConfigRequest extends Base {
  readonly type: 'queue_get_config_request';
  /** Default OFPP_ANY (all ports). */
  readonly port?: number;
}
/** ofp_queue_prop_* (§7.2.2); rates in 1/10 of a percent, >1000 means disabled. */
export type QueueProperty =
  | { readonly type: 'min_rate'; readonly rate: number }
  | { readonly type: 'max_rate'; readonly rate: number }
  | { readonly type: 'experimenter'; readonly experimenter: number; readonly data?: Buffer }
  | { readonly type: 'unknown'; readonly property: number; readonly data: Buffer };
/** ofp_packet_queue (§7.2.2). */
export interface PacketQueue {
  readonly queueId: number;
  readonly port: number;
  readonly properties: readonly QueueProperty[];
}
/** OFPT_QUEUE_GET_CONFIG_REPLY (§7.3.6). */
export interface QueueGetConfigReply extends Base {
  readonly type: 'queue_get_config_reply';
  readonly port: number;
  readonly queues: readonly PacketQueue[];
}

/** OFPT_ROLE_REQUEST (§7.3.9). */
export interface RoleRequest extends Base {
  readonly type: 'role_request';
  /** OFPCR_ROLE_*. */
  readonly role: number;
  /** Default 0 (ignored for NOCHANGE and EQUAL). */
  readonly generationId?: bigint;
}
/** OFPT_ROLE_REPLY (§7.3.9). */
export interface RoleReply extends Base {
  readonly type: 'role_reply';
  readonly role: number;
  readonly generationId?: bigint;
}

/** OFPT_GET_ASYNC_REQUEST (§7.3.10). */
export interface GetAsyncRequest extends Base {
  readonly type: 'get_async_request';
}
/**
 * Asynchronous message masks (§7.3.10): each pair is [master/equal, slave], a
 * bitmap of OFPR_* / OFPPR_* / OFPRR_* reasons that are sent.
 */
export interface AsyncConfig {
  readonly packetInMask: readonly [number, number];
  readonly portStatusMask: readonly [number, number];
  readonly flowRemovedMask: readonly [number, number];
}
/** OFPT_GET_ASYNC_REPLY (§7.3.10). */
export interface GetAsyncReply extends Base, AsyncConfig {
  readonly type: 'get_async_reply';
}
/** OFPT_SET_ASYNC (§7.3.10). */
export interface SetAsync extends Base, AsyncConfig {
  readonly type: 'set_async';
}

/**
 * ONF EXT-230 bundle control for OpenFlow 1.3 (as Open vSwitch implements it:
 * OFPT_EXPERIMENTER, ONF_VENDOR_ID, exp_type ONFT_BUNDLE_CONTROL = 2300).
 */
export interface BundleControl extends Base {
  readonly type: 'bundle_control';
  readonly bundleId: number;
  /** OFPBCT_*: OPEN/CLOSE/COMMIT/DISCARD request or reply. */
  readonly ctrlType: number;
  /** OFPBF_* (ATOMIC, ORDERED); default 0. */
  readonly flags?: number;
  /** Trailing bundle properties, opaque; default empty. */
  readonly properties?: Buffer;
}

/**
 * ONF EXT-230 bundle add (exp_type ONFT_BUNDLE_ADD_MESSAGE = 2301): one message
 * to stage in an open bundle. The outer xid must equal the embedded message's
 * xid; the encoder uses whichever is given for both.
 */
export interface BundleAdd extends Base {
  readonly type: 'bundle_add';
  readonly bundleId: number;
  readonly flags?: number;
  readonly message: OfpMessage;
}

/** NXT_SET_PACKET_IN_FORMAT (nicira-ext.h): NXPIF_*. */
export interface NxSetPacketInFormat extends Base {
  readonly type: 'nx_set_packet_in_format';
  readonly format: number;
}

/** NXT_SET_CONTROLLER_ID (nicira-ext.h): the id that controller() actions address. */
export interface NxSetControllerId extends Base {
  readonly type: 'nx_set_controller_id';
  readonly controllerId: number;
}

/**
 * NXT_PACKET_IN2 (nicira-ext.h): a property-based packet-in. Open vSwitch sends
 * the `userdata` of a `controller(userdata=...)` action only in this format, and
 * `continuation` only for `controller(pause)`.
 */
export interface NxPacketIn2 extends Base {
  readonly type: 'nx_packet_in2';
  /** The (possibly truncated) frame. */
  readonly data: Buffer;
  /** Untruncated length; absent when data is the whole frame. */
  readonly fullLen?: number;
  /** Absent when the frame was not buffered. */
  readonly bufferId?: number;
  readonly tableId?: number;
  readonly cookie?: bigint;
  /** OFPR_*. */
  readonly reason?: number;
  /** Pipeline metadata (in_port, registers, tunnel...) as OXM fields. */
  readonly metadata?: Match;
  readonly userdata?: Buffer;
  /** NXPINT_CONTINUATION payload, opaque (hand back in NXT_RESUME). */
  readonly continuation?: Buffer;
}

export type OfpMessage =
  | Hello
  | ErrorMsg
  | EchoRequest
  | EchoReply
  | ExperimenterMsg
  | FeaturesRequest
  | FeaturesReply
  | GetConfigRequest
  | GetConfigReply
  | SetConfig
  | PacketIn
  | FlowRemoved
  | PortStatus
  | PacketOut
  | FlowMod
  | GroupMod
  | PortMod
  | TableMod
  | MultipartRequest
  | MultipartReply
  | BarrierRequest
  | BarrierReply
  | QueueGetConfigRequest
  | QueueGetConfigReply
  | RoleRequest
  | RoleReply
  | GetAsyncRequest
  | GetAsyncReply
  | SetAsync
  | MeterMod
  | BundleControl
  | BundleAdd
  | NxSetPacketInFormat
  | NxSetControllerId
  | NxPacketIn2
  | UnknownMsg;

export type OfpMessageType = OfpMessage['type'];

/** A decoded message: same shapes, with the xid always present. */
export type Decoded<M extends OfpMessage = OfpMessage> = M & { readonly xid: number };
