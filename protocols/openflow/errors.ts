/**
 * OpenFlow error messages made readable and typed: the OF1.3 error type and code
 * names of OpenFlow 1.3.5 §7.4.4 (plus the Nicira and ONF experimenter codes that
 * Open vSwitch sends with OpenFlow 1.3), and {@link OpenFlowError}, the one error
 * class a request fails with when the switch answers OFPT_ERROR.
 */
import { PlexusError } from '../common/errors';
import { NX_VENDOR_ID, NXT, OFP_HEADER_LEN, OFPET, OFPT, ONF_VENDOR_ID, ONFT } from './constants';
import type { ErrorMsg, OfpMessageType } from './messages';

/** Code names per error type, indexed by code (§7.4.4). */
const ERROR_CODES: Readonly<Record<number, { readonly typeName: string; readonly codes: readonly string[] }>> = {
  [OFPET.HELLO_FAILED]: { typeName: 'OFPET_HELLO_FAILED', codes: ['OFPHFC_INCOMPATIBLE', 'OFPHFC_EPERM'] },
  [OFPET.BAD_REQUEST]: {
    typeName: 'OFPET_BAD_REQUEST',
    codes: [
      'OFPBRC_BAD_VERSION', 'OFPBRC_BAD_TYPE', 'OFPBRC_BAD_MULTIPART', 'OFPBRC_BAD_EXPERIMENTER',
      'OFPBRC_BAD_EXP_TYPE', 'OFPBRC_EPERM', 'OFPBRC_BAD_LEN', 'OFPBRC_BUFFER_EMPTY', 'OFPBRC_BUFFER_UNKNOWN',
      'OFPBRC_BAD_TABLE_ID', 'OFPBRC_IS_SLAVE', 'OFPBRC_BAD_PORT', 'OFPBRC_BAD_PACKET',
      'OFPBRC_MULTIPART_BUFFER_OVERFLOW',
    ],
  },
  [OFPET.BAD_ACTION]: {
    typeName: 'OFPET_BAD_ACTION',
    codes: [
      'OFPBAC_BAD_TYPE', 'OFPBAC_BAD_LEN', 'OFPBAC_BAD_EXPERIMENTER', 'OFPBAC_BAD_EXP_TYPE', 'OFPBAC_BAD_OUT_PORT',
      'OFPBAC_BAD_ARGUMENT', 'OFPBAC_EPERM', 'OFPBAC_TOO_MANY', 'OFPBAC_BAD_QUEUE', 'OFPBAC_BAD_OUT_GROUP',
      'OFPBAC_MATCH_INCONSISTENT', 'OFPBAC_UNSUPPORTED_ORDER', 'OFPBAC_BAD_TAG', 'OFPBAC_BAD_SET_TYPE',
      'OFPBAC_BAD_SET_LEN', 'OFPBAC_BAD_SET_ARGUMENT',
    ],
  },
  [OFPET.BAD_INSTRUCTION]: {
    typeName: 'OFPET_BAD_INSTRUCTION',
    codes: [
      'OFPBIC_UNKNOWN_INST', 'OFPBIC_UNSUP_INST', 'OFPBIC_BAD_TABLE_ID', 'OFPBIC_UNSUP_METADATA',
      'OFPBIC_UNSUP_METADATA_MASK', 'OFPBIC_BAD_EXPERIMENTER', 'OFPBIC_BAD_EXP_TYPE', 'OFPBIC_BAD_LEN',
      'OFPBIC_EPERM',
    ],
  },
  [OFPET.BAD_MATCH]: {
    typeName: 'OFPET_BAD_MATCH',
    codes: [
      'OFPBMC_BAD_TYPE', 'OFPBMC_BAD_LEN', 'OFPBMC_BAD_TAG', 'OFPBMC_BAD_DL_ADDR_MASK', 'OFPBMC_BAD_NW_ADDR_MASK',
      'OFPBMC_BAD_WILDCARDS', 'OFPBMC_BAD_FIELD', 'OFPBMC_BAD_VALUE', 'OFPBMC_BAD_MASK', 'OFPBMC_BAD_PREREQ',
      'OFPBMC_DUP_FIELD', 'OFPBMC_EPERM',
    ],
  },
  [OFPET.FLOW_MOD_FAILED]: {
    typeName: 'OFPET_FLOW_MOD_FAILED',
    codes: [
      'OFPFMFC_UNKNOWN', 'OFPFMFC_TABLE_FULL', 'OFPFMFC_BAD_TABLE_ID', 'OFPFMFC_OVERLAP', 'OFPFMFC_EPERM',
      'OFPFMFC_BAD_TIMEOUT', 'OFPFMFC_BAD_COMMAND', 'OFPFMFC_BAD_FLAGS',
    ],
  },
  [OFPET.GROUP_MOD_FAILED]: {
    typeName: 'OFPET_GROUP_MOD_FAILED',
    codes: [
      'OFPGMFC_GROUP_EXISTS', 'OFPGMFC_INVALID_GROUP', 'OFPGMFC_WEIGHT_UNSUPPORTED', 'OFPGMFC_OUT_OF_GROUPS',
      'OFPGMFC_OUT_OF_BUCKETS', 'OFPGMFC_CHAINING_UNSUPPORTED', 'OFPGMFC_WATCH_UNSUPPORTED', 'OFPGMFC_LOOP',
      'OFPGMFC_UNKNOWN_GROUP', 'OFPGMFC_CHAINED_GROUP', 'OFPGMFC_BAD_TYPE', 'OFPGMFC_BAD_COMMAND',
      'OFPGMFC_BAD_BUCKET', 'OFPGMFC_BAD_WATCH', 'OFPGMFC_EPERM',
    ],
  },
  [OFPET.PORT_MOD_FAILED]: {
    typeName: 'OFPET_PORT_MOD_FAILED',
    codes: ['OFPPMFC_BAD_PORT', 'OFPPMFC_BAD_HW_ADDR', 'OFPPMFC_BAD_CONFIG', 'OFPPMFC_BAD_ADVERTISE', 'OFPPMFC_EPERM'],
  },
  [OFPET.TABLE_MOD_FAILED]: {
    typeName: 'OFPET_TABLE_MOD_FAILED',
    codes: ['OFPTMFC_BAD_TABLE', 'OFPTMFC_BAD_CONFIG', 'OFPTMFC_EPERM'],
  },
  [OFPET.QUEUE_OP_FAILED]: {
    typeName: 'OFPET_QUEUE_OP_FAILED',
    codes: ['OFPQOFC_BAD_PORT', 'OFPQOFC_BAD_QUEUE', 'OFPQOFC_EPERM'],
  },
  [OFPET.SWITCH_CONFIG_FAILED]: {
    typeName: 'OFPET_SWITCH_CONFIG_FAILED',
    codes: ['OFPSCFC_BAD_FLAGS', 'OFPSCFC_BAD_LEN', 'OFPSCFC_EPERM'],
  },
  [OFPET.ROLE_REQUEST_FAILED]: {
    typeName: 'OFPET_ROLE_REQUEST_FAILED',
    codes: ['OFPRRFC_STALE', 'OFPRRFC_UNSUP', 'OFPRRFC_BAD_ROLE'],
  },
  [OFPET.METER_MOD_FAILED]: {
    typeName: 'OFPET_METER_MOD_FAILED',
    codes: [
      'OFPMMFC_UNKNOWN', 'OFPMMFC_METER_EXISTS', 'OFPMMFC_INVALID_METER', 'OFPMMFC_UNKNOWN_METER',
      'OFPMMFC_BAD_COMMAND', 'OFPMMFC_BAD_FLAGS', 'OFPMMFC_BAD_RATE', 'OFPMMFC_BAD_BURST', 'OFPMMFC_BAD_BAND',
      'OFPMMFC_BAD_BAND_VALUE', 'OFPMMFC_OUT_OF_METERS', 'OFPMMFC_OUT_OF_BANDS',
    ],
  },
  [OFPET.TABLE_FEATURES_FAILED]: {
    typeName: 'OFPET_TABLE_FEATURES_FAILED',
    codes: ['OFPTFFC_BAD_TABLE', 'OFPTFFC_BAD_METADATA', 'OFPTFFC_BAD_TYPE', 'OFPTFFC_BAD_LEN', 'OFPTFFC_BAD_ARGUMENT', 'OFPTFFC_EPERM'],
  },
};

/**
 * Experimenter error codes Open vSwitch uses with OpenFlow 1.3 (its ofp-errors.h:
 * "NX1.2+(n)" under NX_VENDOR_ID and "ONF1.3(n)" under ONF_VENDOR_ID), by exp_type.
 */
const NX_ERROR_CODES: Readonly<Record<number, string>> = {
  2: 'NXBRC_NXM_INVALID',
  3: 'NXBRC_NXM_BAD_TYPE',
  4: 'NXBRC_MUST_BE_ZERO',
  5: 'NXBRC_BAD_REASON',
  9: 'NXBRC_FM_BAD_EVENT',
  10: 'NXBRC_UNENCODABLE_ERROR',
  11: 'NXBAC_MUST_BE_ZERO',
  12: 'NXFMFC_HARDWARE',
  13: 'NXFMFC_BAD_TABLE_ID',
  15: 'NXBAC_BAD_CONJUNCTION',
  16: 'NXTTMFC_BAD_COMMAND',
  17: 'NXTTMFC_BAD_OPT_LEN',
  18: 'NXTTMFC_BAD_FIELD_IDX',
  19: 'NXTTMFC_TABLE_FULL',
  20: 'NXTTMFC_ALREADY_MAPPED',
  21: 'NXTTMFC_DUP_ENTRY',
  34: 'NXR_NOT_SUPPORTED',
  35: 'NXR_STALE',
  36: 'NXST_NOT_CONFIGURED',
  37: 'NXFMFC_INVALID_TLV_FIELD',
  38: 'NXTTMFC_INVALID_TLV_DEL',
  42: 'NXBAC_CT_DATAPATH_SUPPORT',
  43: 'NXBMC_CT_DATAPATH_SUPPORT',
};
const ONF_ERROR_CODES: Readonly<Record<number, string>> = {
  2300: 'OFPBFC_UNKNOWN',
  2301: 'OFPBFC_EPERM',
  2302: 'OFPBFC_BAD_ID',
  2303: 'OFPBFC_BUNDLE_EXIST',
  2304: 'OFPBFC_BUNDLE_CLOSED',
  2305: 'OFPBFC_OUT_OF_BUNDLES',
  2306: 'OFPBFC_BAD_TYPE',
  2307: 'OFPBFC_BAD_FLAGS',
  2308: 'OFPBFC_MSG_BAD_LEN',
  2309: 'OFPBFC_MSG_BAD_XID',
  2310: 'OFPBFC_MSG_UNSUP',
  2311: 'OFPBFC_MSG_CONFLICT',
  2312: 'OFPBFC_MSG_TOO_MANY',
  2313: 'OFPBFC_MSG_FAILED',
  2314: 'OFPBFC_TIMEOUT',
  2315: 'OFPBFC_BUNDLE_IN_PROGRESS',
  2360: 'OFPFMFC_BAD_PRIORITY',
  2370: 'OFPACFC_INVALID',
  2371: 'OFPACFC_UNSUPPORTED',
  2372: 'OFPACFC_EPERM',
  2640: 'OFPBRC_MULTIPART_REQUEST_TIMEOUT',
  2641: 'OFPBRC_MULTIPART_REPLY_TIMEOUT',
  4250: 'OFPBAC_BAD_SET_MASK',
  4443: 'OFPBPC_TOO_MANY',
  4444: 'OFPBPC_DUP_TYPE',
  4445: 'OFPBPC_BAD_EXPERIMENTER',
  4446: 'OFPBPC_BAD_EXP_TYPE',
  4447: 'OFPBPC_BAD_EXP_VALUE',
  4448: 'OFPBPC_EPERM',
};

/**
 * Errors after which the same request can succeed later without being changed:
 * the switch was out of a resource, busy, or we were not master yet.
 */
const RECOVERABLE = new Set([
  'OFPBRC_IS_SLAVE',
  'OFPBRC_MULTIPART_BUFFER_OVERFLOW',
  'OFPBRC_MULTIPART_REQUEST_TIMEOUT',
  'OFPBRC_MULTIPART_REPLY_TIMEOUT',
  'OFPFMFC_TABLE_FULL',
  'OFPGMFC_OUT_OF_GROUPS',
  'OFPGMFC_OUT_OF_BUCKETS',
  'OFPMMFC_OUT_OF_METERS',
  'OFPMMFC_OUT_OF_BANDS',
  'OFPBFC_OUT_OF_BUNDLES',
  'OFPBFC_TIMEOUT',
  'OFPBFC_BUNDLE_IN_PROGRESS',
  'NXFMFC_HARDWARE',
]);

export interface ErrorName {
  readonly typeName: string;
  readonly codeName: string;
}

/**
 * Names an error type and code as the specification does, e.g.
 * `{typeName: 'OFPET_BAD_REQUEST', codeName: 'OFPBRC_BAD_TYPE'}`. Unknown values
 * are named by number (`OFPET_BAD_REQUEST`, `code_99`) rather than failing.
 */
export function describeError(errType: number, code: number, experimenter?: number): ErrorName {
  if (errType === OFPET.EXPERIMENTER) {
    const table = experimenter === NX_VENDOR_ID ? NX_ERROR_CODES : experimenter === ONF_VENDOR_ID ? ONF_ERROR_CODES : {};
    const vendor = experimenter === undefined ? 'unknown' : `0x${experimenter.toString(16).padStart(8, '0')}`;
    return { typeName: 'OFPET_EXPERIMENTER', codeName: table[code] ?? `experimenter_${vendor}_type_${code}` };
  }
  const entry = ERROR_CODES[errType];
  if (!entry) return { typeName: `type_${errType}`, codeName: `code_${code}` };
  return { typeName: entry.typeName, codeName: entry.codes[code] ?? `code_${code}` };
}

/** OFPT_* numbers to message type names, for naming the request that failed. */
const MESSAGE_NAMES = new Map<number, OfpMessageType>(
  Object.entries(OFPT)
    .filter(([name]) => name !== 'EXPERIMENTER')
    .map(([name, value]) => [value, name.toLowerCase() as OfpMessageType]),
);

/**
 * The message type of the request echoed in an error's data (§7.4.4: at least
 * its first 64 bytes), if the data holds an OpenFlow header.
 */
export function failedRequestType(data: Buffer): OfpMessageType | undefined {
  if (data.length < OFP_HEADER_LEN) return undefined;
  const type = data[1] as number;
  if (type !== OFPT.EXPERIMENTER) return MESSAGE_NAMES.get(type);
  if (data.length < 16) return 'experimenter';
  const experimenter = data.readUInt32BE(8);
  const expType = data.readUInt32BE(12);
  if (experimenter === ONF_VENDOR_ID && expType === ONFT.BUNDLE_CONTROL) return 'bundle_control';
  if (experimenter === ONF_VENDOR_ID && expType === ONFT.BUNDLE_ADD_MESSAGE) return 'bundle_add';
  if (experimenter === NX_VENDOR_ID && expType === NXT.SET_PACKET_IN_FORMAT) return 'nx_set_packet_in_format';
  if (experimenter === NX_VENDOR_ID && expType === NXT.SET_CONTROLLER_ID) return 'nx_set_controller_id';
  return 'experimenter';
}

/**
 * The switch rejected a request with OFPT_ERROR (OpenFlow 1.3.5 §7.4.4).
 * `recoverable` is true only for errors where retrying the same request later can
 * succeed (resources exhausted, not master yet, bundle busy).
 */
export class OpenFlowError extends PlexusError {
  override readonly name = 'OpenFlowError';
  readonly errType: number;
  readonly code: number;
  readonly experimenter: number | undefined;
  readonly typeName: string;
  readonly codeName: string;
  /** xid of the error message, which is the failed request's xid. */
  readonly xid: number | undefined;
  /** Type of the failed request, when the error data holds its header. */
  readonly failedType: OfpMessageType | undefined;
  /** The (start of the) failed request, as the switch echoed it. */
  readonly data: Buffer;

  constructor(msg: ErrorMsg) {
    const { typeName, codeName } = describeError(msg.errType, msg.code, msg.experimenter);
    const failedType = msg.errType === OFPET.HELLO_FAILED ? undefined : failedRequestType(msg.data);
    const about = failedType ? ` in reply to ${failedType}` : '';
    const xid = msg.xid === undefined ? '' : ` (xid ${msg.xid})`;
    super(`OpenFlow error ${typeName}/${codeName}${about}${xid}`, { recoverable: RECOVERABLE.has(codeName) });
    this.errType = msg.errType;
    this.code = msg.code;
    this.experimenter = msg.experimenter;
    this.typeName = typeName;
    this.codeName = codeName;
    this.xid = msg.xid;
    this.failedType = failedType;
    this.data = msg.data;
  }

  static fromMessage(msg: ErrorMsg): OpenFlowError {
    return new OpenFlowError(msg);
  }
}
