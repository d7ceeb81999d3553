/**
 * The one address library of Plexus: text ⇄ bytes for MACs, IPv4 and IPv6, used
 * by the packet codec, the OpenFlow match codec, IPAM and the compiler. Text
 * forms are the ones Open vSwitch prints, so flows read as `ovs-ofctl` shows
 * them: MACs as lowercase 'aa:bb:cc:dd:ee:ff', IPv4 as dotted quads, IPv6 in the
 * RFC 5952 canonical form (lowercase, no leading zeros, longest run of two or
 * more zero groups shown as '::') with a dotted IPv4 tail where glibc's
 * inet_ntop, and so ovs-ofctl, writes one (IPv4-mapped ::ffff:a.b.c.d and
 * IPv4-compatible ::a.b.c.d).
 *
 * Parsing is strict (no leading zeros in IPv4, no zone index in IPv6): a
 * malformed string throws EncodeError; callers that parse user input turn it
 * into their own error.
 */
import { EncodeError } from '../common/errors';

const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/** Lowercase colon-separated hex of any byte string (MACs, DHCP chaddr of other sizes). */
export function formatHexColon(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** 6 bytes → 'aa:bb:cc:dd:ee:ff'. */
export function formatMac(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new EncodeError(`MAC address needs 6 bytes, got ${bytes.length}`);
  return formatHexColon(bytes);
}

/** 'aa:bb:cc:dd:ee:ff' (either case) → 6 bytes. */
export function parseMac(text: string): Buffer {
  if (!MAC_RE.test(text)) throw new EncodeError(`bad MAC address: ${JSON.stringify(text)}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

/** Canonical form of a MAC string (lowercase). */
export function normalizeMac(text: string): string {
  return formatMac(parseMac(text));
}

/** 4 bytes → '192.0.2.1'. */
export function formatIpv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new EncodeError(`IPv4 address needs 4 bytes, got ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** '192.0.2.1' → 4 bytes. Leading zeros are refused (they mean octal to some parsers). */
export function parseIpv4(text: string): Buffer {
  const m = IPV4_RE.exec(text);
  if (m === null) throw new EncodeError(`bad IPv4 address: ${JSON.stringify(text)}`);
  // Every byte is written below; allocUnsafe takes small buffers from Node's shared pool
  // (callers such as the match codec keep many of them).
  const out = Buffer.allocUnsafe(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1] as string;
    const value = Number(part);
    if (value > 255 || (part.length > 1 && part.startsWith('0'))) {
      throw new EncodeError(`bad IPv4 address: ${JSON.stringify(text)}`);
    }
    out[i] = value;
  }
  return out;
}

/** True for a string that looks like an IPv6 address (has a colon); used to pick the family. */
export function isIpv6Text(text: string): boolean {
  return text.includes(':');
}

/**
 * 16 bytes → RFC 5952 §4 canonical text. IPv4-mapped addresses (::ffff:0:0/96) use the
 * dotted tail recommended by RFC 5952 §5; so do IPv4-compatible ones (::/96 except
 * :: and ::0.0.x.y, whose zero run reaches into the last 32 bits), as glibc's inet_ntop
 * and therefore ovs-ofctl print them.
 */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new EncodeError(`IPv6 address needs 16 bytes, got ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  if (groups.slice(0, 5).every((g) => g === 0)) {
    if (groups[5] === 0xffff) return `::ffff:${formatIpv4(bytes.subarray(12, 16))}`;
    if (groups[5] === 0 && groups[6] !== 0) return `::${formatIpv4(bytes.subarray(12, 16))}`;
  }
  // Longest run of zero groups, first one on a tie; a single zero group is not compressed.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Any RFC 4291 §2.2 text form (including '::' and a dotted IPv4 tail) → 16 bytes. */
export function parseIpv6(text: string): Buffer {
  const bad = (): never => {
    throw new EncodeError(`bad IPv6 address: ${JSON.stringify(text)}`);
  };
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const toGroups = (part: string, mayEndInIpv4: boolean): number[] => {
    if (part === '') return [];
    const items = part.split(':');
    const groups: number[] = [];
    items.forEach((item, index) => {
      if (mayEndInIpv4 && index === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4OrNull(item) ?? bad();
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEX_GROUP_RE.test(item)) {
        groups.push(parseInt(item, 16));
      } else {
        bad();
      }
    });
    return groups;
  };
  let groups: number[];
  if (halves.length === 1) {
    groups = toGroups(text, true);
    if (groups.length !== 8) bad();
  } else {
    const head = toGroups(halves[0] as string, false);
    const tail = toGroups(halves[1] as string, true);
    if (head.length + tail.length > 7) bad();
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = Buffer.allocUnsafe(16); // every byte is written below (pooled, like parseIpv4's)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function parseIpv4OrNull(text: string): Buffer | null {
  try {
    return parseIpv4(text);
  } catch {
    return null;
  }
}

/** Canonical RFC 5952 text of any valid IPv6 text. */
export function normalizeIpv6(text: string): string {
  return formatIpv6(parseIpv6(text));
}

/** 4 when `text` is an IPv4 address, 6 when an IPv6 one (strict, as the parsers above), else undefined. */
export function ipVersionOf(text: string): 4 | 6 | undefined {
  if (!isIpv6Text(text)) return isIpv4Text(text) ? 4 : undefined;
  try {
    parseIpv6(text);
    return 6;
  } catch {
    return undefined;
  }
}

/** parseIpv4's check without building the bytes (the compiler asks for every endpoint address). */
function isIpv4Text(text: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  let leadingZero = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a final '.' closes the last part
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || (leadingZero && digits > 1) || ++parts > 4) return false;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) leadingZero = c === 0x30;
      if (++digits > 3) return false;
      value = value * 10 + (c - 0x30);
    } else {
      return false;
    }
  }
  return parts === 4;
}

/** Address bytes of either family → unsigned integer (for ranges and arithmetic). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Unsigned integer → `length` big-endian bytes (4 for IPv4, 16 for IPv6). */
export function bigIntToBytes(value: bigint, length: number): Buffer {
  if (value < 0n || value >> BigInt(length * 8) !== 0n) throw new EncodeError(`${value} does not fit in ${length} bytes`);
  const out = Buffer.alloc(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
