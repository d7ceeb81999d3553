/**
 * Address math for IPAM (SPEC §3), pure: parsing and canonical forms of IPv4 and
 * IPv6 addresses and CIDRs (text ⇄ bytes by protocols/packet/address.ts, the one
 * address library; ranges as integers here), containment and overlap, default
 * gateway and allocation pools, first-fit and next-fit order and MAC generation. No I/O;
 * the transactions that make an allocation unique live in endpoint-store.ts.
 *
 * Reserved addresses:
 *
 *   IPv4 /0../30   network and broadcast address, and the gateway
 *   IPv4 /31, /32  none but the gateway (RFC 3021 point-to-point: both addresses are hosts)
 *   IPv6 /0../126  the subnet-router anycast address (the network address, RFC 4291 §2.6.1),
 *                  and the gateway; IPv6 has no broadcast
 *   IPv6 /127,/128 none but the gateway (RFC 6164)
 */
import { randomBytes } from 'node:crypto';
import { PlexusError } from '../../protocols/common/errors';
import { bigIntToBytes, bytesToBigInt, formatIpv4, formatIpv6, ipVersionOf, parseIpv4, parseIpv6 } from '../../protocols/packet/address';
import type { AllocationPool } from './model';

export type IpVersion = 4 | 6;

/** An address or CIDR that does not parse, or a pool/gateway that cannot be valid for its subnet. */
export class AddressError extends PlexusError {
  override readonly name = 'AddressError';
}

/** Every address of the allocation pools is taken. */
export class AddressExhaustedError extends PlexusError {
  override readonly name = 'AddressExhaustedError';
}

export interface ParsedIp {
  readonly version: IpVersion;
  readonly value: bigint;
}

export interface ParsedCidr {
  readonly version: IpVersion;
  /** Network address (host bits cleared). */
  readonly network: bigint;
  /** Last address of the range (the IPv4 broadcast address). */
  readonly last: bigint;
  readonly prefix: number;
  /** Canonical text, e.g. 192.168.200.0/24 or 2001:db8::/64. */
  readonly cidr: string;
}

/** The part of an allocation-capable subnet that the functions below read. */
export interface AddressPlan {
  readonly cidr: string;
  readonly gateway: string | null;
  readonly allocationPools: readonly AllocationPool[];
}

const bitsOf = (v: IpVersion): number => (v === 4 ? 32 : 128);

/** Parses an IPv4 or IPv6 address (no prefix, no zone). */
export function parseIp(text: string): ParsedIp {
  const s = text.trim();
  const version = ipVersionOf(s);
  if (version === undefined) throw new AddressError(`"${text}" is not an IP address`);
  return { version, value: bytesToBigInt(version === 4 ? parseIpv4(s) : parseIpv6(s)) };
}

/** Text of an address: dotted quad, or RFC 5952 compressed lower-case IPv6 (as ovs-ofctl prints it). */
export function formatIp(version: IpVersion, value: bigint): string {
  return version === 4 ? formatIpv4(bigIntToBytes(value, 4)) : formatIpv6(bigIntToBytes(value, 16));
}

/** The canonical text of an address ("2001:DB8:0::1" → "2001:db8::1"). */
export function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return formatIp(ip.version, ip.value);
}

/** Parses a CIDR; host bits are cleared (192.168.200.7/24 → 192.168.200.0/24). */
export function parseCidr(text: string): ParsedCidr {
  const s = text.trim();
  const slash = s.indexOf('/');
  if (slash < 0) throw new AddressError(`"${text}" is not a CIDR (expected address/prefix, e.g. 192.168.200.0/24)`);
  const ip = parseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  const bits = bitsOf(ip.version);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    throw new AddressError(`"${text}": the prefix length must be 0..${bits}`);
  }
  const prefix = Number(prefixText);
  const hostBits = (1n << BigInt(bits - prefix)) - 1n;
  const network = ip.value & ~hostBits;
  const last = network | hostBits;
  return { version: ip.version, network, last, prefix, cidr: `${formatIp(ip.version, network)}/${prefix}` };
}

export function canonicalCidr(text: string): string {
  return parseCidr(text).cidr;
}

/** Whether `ip` lies in `cidr` (false when the versions differ). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return a.version === c.version && c.network <= a.value && a.value <= c.last;
}

/** Whether two CIDRs share any address (false when the versions differ). */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.version === y.version && x.network <= y.last && y.network <= x.last;
}

/** Whether network/broadcast (v4) or the subnet-router anycast address (v6) are reserved. */
function reservesEdges(c: ParsedCidr): { first: boolean; last: boolean } {
  if (c.version === 4) return c.prefix <= 30 ? { first: true, last: true } : { first: false, last: false };
  return { first: c.prefix <= 126, last: false };
}

/** First and last address a host may have (before the gateway is taken out). */
function hostBounds(c: ParsedCidr): { lo: bigint; hi: bigint } {
  const r = reservesEdges(c);
  return { lo: r.first ? c.network + 1n : c.network, hi: r.last ? c.last - 1n : c.last };
}

/**
 * The default gateway: the first host address; null for /32 and /128, which
 * have room for one host only.
 */
export function defaultGateway(cidr: string): string | null {
  const c = parseCidr(cidr);
  if (c.network === c.last) return null;
  return formatIp(c.version, hostBounds(c).lo);
}

/**
 * Checks that `gateway` may be the gateway of `cidr` and returns it canonical:
 * inside the subnet, and not its network, broadcast or subnet-router anycast address.
 */
export function validateGateway(cidr: string, gateway: string): string {
  const c = parseCidr(cidr);
  const g = parseIp(gateway);
  const text = formatIp(g.version, g.value);
  if (g.version !== c.version || g.value < c.network || g.value > c.last) {
    throw new AddressError(`gateway ${text} is outside ${c.cidr}`);
  }
  const r = reservesEdges(c);
  if (r.first && g.value === c.network) {
    throw new AddressError(`gateway ${text} is the ${c.version === 4 ? 'network' : 'subnet-router anycast'} address of ${c.cidr}`);
  }
  if (r.last && g.value === c.last) throw new AddressError(`gateway ${text} is the broadcast address of ${c.cidr}`);
  return text;
}

/** Every host address of `cidr` except the gateway, as at most two pools. */
export function defaultAllocationPools(cidr: string, gateway: string | null): AllocationPool[] {
  const c = parseCidr(cidr);
  const { lo, hi } = hostBounds(c);
  const g = gateway === null ? undefined : parseIp(gateway).value;
  const spans: [bigint, bigint][] = g === undefined || g < lo || g > hi ? [[lo, hi]] : [[lo, g - 1n], [g + 1n, hi]];
  return spans.filter(([s, e]) => s <= e).map(([s, e]) => ({ start: formatIp(c.version, s), end: formatIp(c.version, e) }));
}

/**
 * Checks explicit pools against their subnet and returns them canonical and
 * sorted: start ≤ end, inside the host range, not holding the gateway, not
 * overlapping each other.
 */
export function validateAllocationPools(cidr: string, gateway: string | null, pools: readonly AllocationPool[]): AllocationPool[] {
  const c = parseCidr(cidr);
  const { lo, hi } = hostBounds(c);
  const g = gateway === null ? undefined : parseIp(gateway).value;
  const spans = pools.map((p) => {
    const s = parseIp(p.start);
    const e = parseIp(p.end);
    const name = `allocation pool ${p.start}-${p.end}`;
    if (s.version !== c.version || e.version !== c.version) throw new AddressError(`${name} is not IPv${c.version} like ${c.cidr}`);
    if (s.value > e.value) throw new AddressError(`${name} starts after it ends`);
    if (s.value < lo || e.value > hi) {
      throw new AddressError(`${name} is not inside the host addresses of ${c.cidr} (${formatIp(c.version, lo)}-${formatIp(c.version, hi)})`);
    }
    if (g !== undefined && s.value <= g && g <= e.value) throw new AddressError(`${name} contains the gateway ${gateway}`);
    return { s: s.value, e: e.value, name };
  });
  spans.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.s <= spans[i - 1]!.e) throw new AddressError(`${spans[i - 1]!.name} overlaps ${spans[i]!.name}`);
  }
  return spans.map((x) => ({ start: formatIp(c.version, x.s), end: formatIp(c.version, x.e) }));
}

/**
 * Why `ip` may not be given to an endpoint of this subnet (gateway, network,
 * broadcast, subnet-router anycast), or undefined when it may. Addresses outside
 * the pools but inside the subnet may be requested explicitly (like Neutron fixed IPs).
 */
export function reservedReason(plan: AddressPlan, ip: string): string | undefined {
  const c = parseCidr(plan.cidr);
  const a = parseIp(ip);
  if (plan.gateway !== null && parseIp(plan.gateway).value === a.value) return `the gateway of ${c.cidr}`;
  const r = reservesEdges(c);
  if (r.first && a.value === c.network) return c.version === 4 ? `the network address of ${c.cidr}` : `the subnet-router anycast address of ${c.cidr}`;
  if (r.last && a.value === c.last) return `the broadcast address of ${c.cidr}`;
  return undefined;
}

export interface NextFreeOptions {
  /**
   * Free addresses to pass over before taking one (default 0: first fit). Callers
   * that lost a race use a small random skip so contenders spread out.
   */
  readonly skip?: number;
}

/**
 * First fit: the first address of the pools, in order, that is not in `taken`
 * (canonical texts), after passing over `skip` free ones. Work is bounded by
 * `taken.size + skip + 1` addresses however large the pools are. When the pools
 * hold fewer free addresses than `skip + 1`, the last free one found is used.
 * Throws AddressExhaustedError when none is free.
 */
export function nextFreeAddress(plan: AddressPlan, taken: ReadonlySet<string>, options: NextFreeOptions = {}): string {
  const c = parseCidr(plan.cidr);
  let skip = options.skip ?? 0;
  let lastFree: string | undefined;
  for (const pool of plan.allocationPools) {
    const end = parseIp(pool.end).value;
    for (let v = parseIp(pool.start).value; v <= end; v++) {
      const text = formatIp(c.version, v);
      if (taken.has(text)) continue;
      if (skip-- <= 0) return text;
      lastFree = text;
    }
  }
  if (lastFree !== undefined) return lastFree;
  throw new AddressExhaustedError(`no free address left in ${c.cidr} (${describePools(plan.allocationPools)})`);
}

/**
 * Next fit: the pool addresses in allocation order, starting after `after`
 * (the address the subnet handed out last; from the first pool address when
 * undefined or no longer in a pool) and wrapping round once, so every pool
 * address comes exactly once. Lazy: callers take as many as they probe.
 */
export function* nextFitOrder(plan: AddressPlan, after?: string): Generator<string> {
  const c = parseCidr(plan.cidr);
  const spans = plan.allocationPools.map((p) => ({ s: parseIp(p.start).value, e: parseIp(p.end).value }));
  let a: bigint | undefined;
  if (after !== undefined) {
    try {
      const v = parseIp(after);
      if (v.version === c.version) a = v.value;
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
    }
  }
  const at = a === undefined ? -1 : spans.findIndex((x) => x.s <= a! && a! <= x.e);
  if (at < 0) {
    for (const x of spans) for (let v = x.s; v <= x.e; v++) yield formatIp(c.version, v);
    return;
  }
  const here = spans[at]!;
  for (let v = a! + 1n; v <= here.e; v++) yield formatIp(c.version, v);
  for (let i = 1; i < spans.length; i++) {
    const x = spans[(at + i) % spans.length]!;
    for (let v = x.s; v <= x.e; v++) yield formatIp(c.version, v);
  }
  for (let v = here.s; v <= a!; v++) yield formatIp(c.version, v);
}

function describePools(pools: readonly AllocationPool[]): string {
  return pools.length === 0 ? 'no allocation pools' : `pools ${pools.map((p) => `${p.start}-${p.end}`).join(', ')}`;
}

/** Number of addresses in the pools. */
export function poolSize(plan: AddressPlan): bigint {
  return plan.allocationPools.reduce((n, p) => n + parseIp(p.end).value - parseIp(p.start).value + 1n, 0n);
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * The canonical form of a MAC (lower case, colons); rejects malformed,
 * multicast/broadcast and all-zero addresses: an endpoint's MAC must be unicast.
 */
export function canonicalMac(text: string): string {
  const s = text.trim();
  if (!MAC_RE.test(s)) throw new AddressError(`"${text}" is not a MAC address (expected six hex octets, e.g. 02:42:ac:11:00:02)`);
  const mac = s.toLowerCase().replace(/-/g, ':');
  if (parseInt(mac.slice(0, 2), 16) & 0x01) throw new AddressError(`MAC ${mac} is a multicast address, not a unicast one`);
  if (mac === '00:00:00:00:00:00') throw new AddressError('MAC 00:00:00:00:00:00 is not a valid endpoint address');
  return mac;
}

/**
 * A random locally administered unicast MAC (IEEE 802: first octet with bit
 * 0x02 set and bit 0x01 clear), lower case. Never `0a:00:00:…`, the range the
 * DHCP server's per-network MACs come from (overlay/dhcp.ts).
 */
export function generateMac(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const b = random(6);
    b[0] = (b[0]! | 0x02) & 0xfe;
    if (b[0] === 0x0a && b[1] === 0 && b[2] === 0) continue;
    return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  }
}
