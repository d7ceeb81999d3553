/**
 * OpenFlow 1.3 constants, named as in the specification (OpenFlow 1.3.5, §7)
 * and in Open vSwitch's `openflow-1.3.h` / `nicira-ext.h` for extensions.
 */

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
/** Largest message a peer may send: the 16-bit length field. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFP_MAX_PORT_NAME_LEN = 16;
export const OFP_MAX_TABLE_NAME_LEN = 32;
export const DESC_STR_LEN = 256;
export const SERIAL_NUM_LEN = 32;

/** Message types (§7.1). */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

/** Reserved port numbers (§7.2.1). */
export const OFPP = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

/** Table numbers (§7.3.4). */
export const OFPTT = { MAX: 0xfe, ALL: 0xff } as const;

/** Group numbers (§7.3.4.2). */
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;

/** Meter numbers (§7.3.4.4). */
export const OFPM = { MAX: 0xffff0000, SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff } as const;

/** Flow mod commands (§7.3.4.1). */
export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;

/** Flow mod flags (§7.3.4.1). */
export const OFPFF = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  RESET_COUNTS: 1 << 2,
  NO_PKT_COUNTS: 1 << 3,
  NO_BYT_COUNTS: 1 << 4,
} as const;

/** Hello element types (§7.5.1). */
export const OFPHET = { VERSIONBITMAP: 1 } as const;

/** Experimenter ids. */
export const NX_VENDOR_ID = 0x00002320;
export const ONF_VENDOR_ID = 0x4f4e4600;
