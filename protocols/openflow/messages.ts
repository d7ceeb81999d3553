/**
 * OpenFlow 1.3 messages as readonly plain objects, discriminated by `type`.
 * `xid` is optional when encoding (the connection assigns one) and always set on
 * decoded messages. Field names follow the specification without the ofp_ prefix.
 */
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
  readonly code: number;
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
}

export interface BarrierRequest extends Base {
  readonly type: 'barrier_request';
}
export interface BarrierReply extends Base {
  readonly type: 'barrier_reply';
}

export type OfpMessage =
  | Hello
  | ErrorMsg
  | EchoRequest
  | EchoReply
  | FeaturesRequest
  | FeaturesReply
  | FlowMod
  | BarrierRequest
  | BarrierReply;

export type OfpMessageType = OfpMessage['type'];

/** A decoded message: same shapes, with the xid always present. */
export type Decoded<M extends OfpMessage = OfpMessage> = M & { readonly xid: number };
