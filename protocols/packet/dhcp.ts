/**
 * DHCPv4 messages (RFC 2131 §2) and the options Plexus reads or writes (RFC 2132,
 * RFC 3442 for classless static routes). Unknown options are kept raw.
 *
 * ```
 *  op(8) | htype(8) | hlen(8) | hops(8)
 *  xid(32)
 *  secs(16) | flags(16: B and 15 zero bits)
 *  ciaddr(32) | yiaddr(32) | siaddr(32) | giaddr(32)
 *  chaddr(16 bytes) | sname(64 bytes) | file(128 bytes)
 *  magic cookie 99.130.83.99 (RFC 2131 §3) | options: code(8) | len(8) | data ... end(255)
 * ```
 *
 * Not handled: option overload (52) into sname/file, and RFC 3396 long options split
 * over several instances (each instance is decoded on its own; encoding refuses
 * option data over 255 bytes).
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { formatHexColon, formatIpv4, parseIpv4 } from './address';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Offset of the magic cookie: the fixed BOOTP part is 236 bytes. */
export const DHCP_FIXED_LEN = 236;
/** BOOTP's 300-byte message size (RFC 951), which many clients still expect as a minimum. */
export const BOOTP_MIN_LEN = 300;

export const BOOTP_OP = { REQUEST: 1, REPLY: 2 } as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const DHCP_MESSAGE_TYPE = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** Option codes (RFC 2132 unless noted). */
export const DHCP_OPTION = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  /** RFC 3442. */
  CLASSLESS_STATIC_ROUTES: 121,
  END: 255,
} as const;

export interface ClasslessRoute {
  /** Network address, host bits as sent (normally zero). */
  readonly destination: string;
  readonly prefixLength: number;
  readonly router: string;
}

export type DhcpOption =
  | { readonly type: 'pad' }
  | { readonly type: 'end' }
  | { readonly type: 'message-type'; readonly messageType: number }
  | { readonly type: 'subnet-mask'; readonly mask: string }
  | { readonly type: 'router'; readonly addresses: readonly string[] }
  | { readonly type: 'dns-servers'; readonly addresses: readonly string[] }
  | { readonly type: 'hostname'; readonly name: string }
  | { readonly type: 'domain-name'; readonly name: string }
  | { readonly type: 'mtu'; readonly mtu: number }
  | { readonly type: 'requested-ip'; readonly address: string }
  | { readonly type: 'lease-time'; readonly seconds: number }
  | { readonly type: 'server-id'; readonly address: string }
  | { readonly type: 'parameter-request-list'; readonly codes: readonly number[] }
  /** T1 (option 58). */
  | { readonly type: 'renewal-time'; readonly seconds: number }
  /** T2 (option 59). */
  | { readonly type: 'rebinding-time'; readonly seconds: number }
  /** Option 61 as sent: usually a hardware type byte followed by the address. */
  | { readonly type: 'client-id'; readonly data: Buffer }
  | { readonly type: 'classless-static-routes'; readonly routes: readonly ClasslessRoute[] }
  | { readonly type: 'raw'; readonly code: number; readonly data: Buffer };

export type DhcpOptionType = DhcpOption['type'];

export interface DhcpMessage {
  readonly op: number;
  /** Hardware type; 1 = Ethernet. */
  readonly htype: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  /** The B flag (RFC 2131 §2, figure 2): the client wants replies broadcast. */
  readonly isBroadcast: boolean;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** First `hlen` bytes of chaddr as lowercase colon hex; a MAC for Ethernet. */
  readonly chaddr: string;
  readonly sname: string;
  readonly file: string;
  readonly options: readonly DhcpOption[];
}

/** Fields a caller may omit when building a message. */
export type DhcpMessageInit = Pick<DhcpMessage, 'op' | 'xid' | 'chaddr' | 'options'> & Partial<DhcpMessage>;

/** The first option of the given type, typed. */
export function findDhcpOption<T extends DhcpOptionType>(
  m: Pick<DhcpMessage, 'options'>,
  type: T,
): Extract<DhcpOption, { type: T }> | undefined {
  return m.options.find((o): o is Extract<DhcpOption, { type: T }> => o.type === type);
}

/** Option 53, or undefined for a plain BOOTP message. */
export function getDhcpMessageType(m: Pick<DhcpMessage, 'options'>): number | undefined {
  return findDhcpOption(m, 'message-type')?.messageType;
}

/**
 * Decodes a DHCP message (the UDP payload). Throws DecodeError on truncation, hlen > 16,
 * a missing magic cookie, or an option whose length does not fit its type. Options stop
 * at 'end'; bytes after it (padding) are ignored. A missing 'end' is tolerated.
 */
export function decodeDhcp(buf: Buffer, base = 0): DhcpMessage {
  const r = new BufferReader(buf, 0, buf.length, base);
  const op = r.u8('DHCP op');
  const htype = r.u8('DHCP htype');
  const hlen = r.u8('DHCP hlen');
  if (hlen > 16) r.fail(`DHCP hlen ${hlen} above 16`, 2);
  const hops = r.u8('DHCP hops');
  const xid = r.u32('DHCP xid');
  const secs = r.u16('DHCP secs');
  const flags = r.u16('DHCP flags');
  const ciaddr = formatIpv4(r.bytes(4, 'DHCP ciaddr'));
  const yiaddr = formatIpv4(r.bytes(4, 'DHCP yiaddr'));
  const siaddr = formatIpv4(r.bytes(4, 'DHCP siaddr'));
  const giaddr = formatIpv4(r.bytes(4, 'DHCP giaddr'));
  const chaddr = formatHexColon(r.bytes(16, 'DHCP chaddr').subarray(0, hlen));
  const sname = r.cstring(64, 'DHCP sname');
  const file = r.cstring(128, 'DHCP file');
  const cookie = r.u32('DHCP magic cookie');
  if (cookie !== DHCP_MAGIC_COOKIE) r.fail(`bad DHCP magic cookie 0x${cookie.toString(16)}`, DHCP_FIXED_LEN);
  const options: DhcpOption[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const code = r.u8('DHCP option code');
    if (code === DHCP_OPTION.PAD) {
      options.push({ type: 'pad' });
      continue;
    }
    if (code === DHCP_OPTION.END) {
      options.push({ type: 'end' });
      break;
    }
    const len = r.u8('DHCP option length');
    options.push(decodeDhcpOption(code, r.sub(len, `DHCP option ${code}`), at));
  }
  return {
    op,
    htype,
    hops,
    xid,
    secs,
    isBroadcast: (flags & 0x8000) !== 0,
    ciaddr,
    yiaddr,
    siaddr,
    giaddr,
    chaddr,
    sname,
    file,
    options,
  };
}

function decodeDhcpOption(code: number, d: BufferReader, at: number): DhcpOption {
  const len = d.remaining;
  const expect = (ok: boolean, what: string): void => {
    if (!ok) d.fail(`DHCP option ${code} (${what}) has bad length ${len}`, at + 1);
  };
  const addresses = (): string[] => {
    expect(len >= 4 && len % 4 === 0, 'address list');
    const out: string[] = [];
    while (d.remaining > 0) out.push(formatIpv4(d.bytes(4)));
    return out;
  };
  const address = (): string => {
    expect(len === 4, 'address');
    return formatIpv4(d.bytes(4));
  };
  const seconds = (): number => {
    expect(len === 4, 'time');
    return d.u32();
  };
  switch (code) {
    case DHCP_OPTION.MESSAGE_TYPE:
      expect(len === 1, 'message type');
      return { type: 'message-type', messageType: d.u8() };
    case DHCP_OPTION.SUBNET_MASK:
      return { type: 'subnet-mask', mask: address() };
    case DHCP_OPTION.ROUTER:
      return { type: 'router', addresses: addresses() };
    case DHCP_OPTION.DNS_SERVERS:
      return { type: 'dns-servers', addresses: addresses() };
    case DHCP_OPTION.HOSTNAME:
      return { type: 'hostname', name: d.bytes(len).toString('latin1') };
    case DHCP_OPTION.DOMAIN_NAME:
      return { type: 'domain-name', name: d.bytes(len).toString('latin1') };
    case DHCP_OPTION.MTU:
      expect(len === 2, 'MTU');
      return { type: 'mtu', mtu: d.u16() };
    case DHCP_OPTION.REQUESTED_IP:
      return { type: 'requested-ip', address: address() };
    case DHCP_OPTION.LEASE_TIME:
      return { type: 'lease-time', seconds: seconds() };
    case DHCP_OPTION.SERVER_ID:
      return { type: 'server-id', address: address() };
    case DHCP_OPTION.PARAMETER_REQUEST_LIST:
      return { type: 'parameter-request-list', codes: [...d.bytes(len)] };
    case DHCP_OPTION.RENEWAL_TIME:
      return { type: 'renewal-time', seconds: seconds() };
    case DHCP_OPTION.REBINDING_TIME:
      return { type: 'rebinding-time', seconds: seconds() };
    case DHCP_OPTION.CLIENT_ID:
      return { type: 'client-id', data: d.bytes(len) };
    case DHCP_OPTION.CLASSLESS_STATIC_ROUTES: {
      // RFC 3442 §3: width(8) | significant octets of the destination | router(32).
      const routes: ClasslessRoute[] = [];
      while (d.remaining > 0) {
        const widthAt = d.offset;
        const prefixLength = d.u8('route prefix length');
        if (prefixLength > 32) d.fail(`classless route prefix length ${prefixLength}`, widthAt);
        const dest = Buffer.alloc(4);
        d.bytes(Math.ceil(prefixLength / 8), 'route destination').copy(dest);
        routes.push({ destination: formatIpv4(dest), prefixLength, router: formatIpv4(d.bytes(4, 'route router')) });
      }
      return { type: 'classless-static-routes', routes };
    }
    default:
      return { type: 'raw', code, data: d.bytes(len) };
  }
}

/**
 * Encodes a DHCP message. An 'end' option is appended unless the list already has one,
 * and the message is padded with zeros to `minLengthBytes` (default the BOOTP 300).
 * Defaults: htype 1, hops/secs 0, not broadcast, zero addresses, empty sname/file.
 */
export function encodeDhcp(m: DhcpMessageInit, minLengthBytes = BOOTP_MIN_LEN): Buffer {
  const w = new BufferWriter(Math.max(minLengthBytes, 512));
  const chaddr = parseHexColon(m.chaddr);
  w.u8(m.op, 'DHCP op').u8(m.htype ?? 1, 'DHCP htype').u8(chaddr.length).u8(m.hops ?? 0, 'DHCP hops');
  w.u32(m.xid, 'DHCP xid').u16(m.secs ?? 0, 'DHCP secs').u16(m.isBroadcast ? 0x8000 : 0);
  for (const a of [m.ciaddr, m.yiaddr, m.siaddr, m.giaddr]) w.bytes(parseIpv4(a ?? '0.0.0.0'));
  w.bytes(chaddr).zeros(16 - chaddr.length);
  w.cstring(m.sname ?? '', 64, 'DHCP sname').cstring(m.file ?? '', 128, 'DHCP file');
  w.u32(DHCP_MAGIC_COOKIE);
  for (const o of m.options) encodeDhcpOption(w, o);
  if (!m.options.some((o) => o.type === 'end')) w.u8(DHCP_OPTION.END);
  if (w.offset < minLengthBytes) w.zeros(minLengthBytes - w.offset);
  return w.finish();
}

function parseHexColon(text: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){0,15})?$/.test(text)) {
    throw new EncodeError(`bad DHCP chaddr ${JSON.stringify(text)}`);
  }
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

function encodeDhcpOption(w: BufferWriter, o: DhcpOption): void {
  const put = (code: number, data: Uint8Array): void => {
    if (data.length > 255) throw new EncodeError(`DHCP option ${code} longer than 255 bytes`);
    w.u8(code).u8(data.length).bytes(data);
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`DHCP time out of range: ${v}`);
    b.writeUInt32BE(v);
    return b;
  };
  const addrs = (list: readonly string[]): Buffer => {
    if (list.length === 0) throw new EncodeError('DHCP address list option needs at least one address');
    return Buffer.concat(list.map(parseIpv4));
  };
  switch (o.type) {
    case 'pad':
      w.u8(DHCP_OPTION.PAD);
      return;
    case 'end':
      w.u8(DHCP_OPTION.END);
      return;
    case 'message-type':
      return put(DHCP_OPTION.MESSAGE_TYPE, Buffer.from([checkByte(o.messageType)]));
    case 'subnet-mask':
      return put(DHCP_OPTION.SUBNET_MASK, parseIpv4(o.mask));
    case 'router':
      return put(DHCP_OPTION.ROUTER, addrs(o.addresses));
    case 'dns-servers':
      return put(DHCP_OPTION.DNS_SERVERS, addrs(o.addresses));
    case 'hostname':
      return put(DHCP_OPTION.HOSTNAME, Buffer.from(o.name, 'latin1'));
    case 'domain-name':
      return put(DHCP_OPTION.DOMAIN_NAME, Buffer.from(o.name, 'latin1'));
    case 'mtu': {
      if (!Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 0xffff) throw new EncodeError(`DHCP MTU ${o.mtu}`);
      const b = Buffer.alloc(2);
      b.writeUInt16BE(o.mtu);
      return put(DHCP_OPTION.MTU, b);
    }
    case 'requested-ip':
      return put(DHCP_OPTION.REQUESTED_IP, parseIpv4(o.address));
    case 'lease-time':
      return put(DHCP_OPTION.LEASE_TIME, u32(o.seconds));
    case 'server-id':
      return put(DHCP_OPTION.SERVER_ID, parseIpv4(o.address));
    case 'parameter-request-list':
      return put(DHCP_OPTION.PARAMETER_REQUEST_LIST, Buffer.from(o.codes.map(checkByte)));
    case 'renewal-time':
      return put(DHCP_OPTION.RENEWAL_TIME, u32(o.seconds));
    case 'rebinding-time':
      return put(DHCP_OPTION.REBINDING_TIME, u32(o.seconds));
    case 'client-id':
      return put(DHCP_OPTION.CLIENT_ID, o.data);
    case 'classless-static-routes': {
      const parts: Buffer[] = [];
      for (const route of o.routes) {
        if (!Number.isInteger(route.prefixLength) || route.prefixLength < 0 || route.prefixLength > 32) {
          throw new EncodeError(`classless route prefix length ${route.prefixLength}`);
        }
        const significant = parseIpv4(route.destination).subarray(0, Math.ceil(route.prefixLength / 8));
        parts.push(Buffer.from([route.prefixLength]), significant, parseIpv4(route.router));
      }
      return put(DHCP_OPTION.CLASSLESS_STATIC_ROUTES, Buffer.concat(parts));
    }
    case 'raw':
      if (o.code === DHCP_OPTION.PAD || o.code === DHCP_OPTION.END) {
        throw new EncodeError(`raw DHCP option cannot use code ${o.code}`);
      }
      return put(checkByte(o.code), o.data);
  }
}

function checkByte(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new EncodeError(`DHCP byte value out of range: ${v}`);
  return v;
}
