/**
 * A minimal connection tracker for the flow-table walk (flow-table-walk.ts):
 * enough of ovs-vswitchd's `ct` to test stateful policy without a switch.
 *
 * - A connection is its 5-tuple in a zone (ICMP echo: addresses and protocol,
 *   request and reply types paired; other ICMP: addresses and protocol).
 * - `ct` looks the packet up in the zone: a committed connection gives
 *   +trk+est (+rpl when the packet goes the other way) and the connection's
 *   ct_mark; anything else +trk+new with ct_mark 0. Related (+rel) and invalid
 *   (+inv) states are not produced (no TCP window tracking, no ICMP errors).
 * - `commit` creates the connection (or keeps it) and applies the nested
 *   set_field ct_mark; a nested `nat(src=X)` / `nat(dst=X)` gives a new
 *   connection its translation (addresses only: no port mapping), kept for its
 *   life: the reply direction is then the reverse of the translated tuple.
 * - `nat` (with or without a range) translates a packet of a connection that
 *   has one: the original direction as committed, replies reversed.
 *
 * State lives in the `Conntrack` object a test gives the switch, so a reply
 * walked after a request finds its connection, as on a real switch.
 */
import type { OxmValue } from '../../protocols/openflow/match';

export interface CtLookup {
  /** ct_state bits (ovs-fields(7)): TRK 0x20 | NEW 0x01 or EST 0x02 [| RPL 0x08]. */
  readonly state: number;
  readonly mark: number;
}

/** A connection's address translation (ovs-actions(7) nat): which side, to what. */
export interface NatSpec {
  readonly kind: 'src' | 'dst';
  readonly address: string;
}

/** The fields a translation sets on a packet. */
export interface Rewrite {
  readonly field: 'ip_src' | 'ip_dst' | 'ipv6_src' | 'ipv6_dst';
  readonly value: string;
}

interface Connection {
  mark: number;
  nat?: NatSpec;
  /** The original direction's addresses (before translation). */
  readonly src: string;
  readonly dst: string;
  readonly v6: boolean;
}

/** A tuple key leads to its connection, in the original direction or the reply's. */
interface Entry {
  readonly conn: Connection;
  readonly reply: boolean;
}

/** Packet fields as the walk reads them (ovs-fields names; absent = 0). */
export type FieldReader = (name: string) => OxmValue | undefined;

const ICMP_ECHO_PAIRS: Readonly<Record<string, number>> = { '1:8': 0, '1:0': 8, '58:128': 129, '58:129': 128 };

interface Tuple {
  readonly forward: string;
  readonly reverse: string;
  readonly src: string;
  readonly dst: string;
  readonly v6: boolean;
  /** The reply key of this tuple with its addresses translated. */
  replyAfter(src: string, dst: string): string;
}

function tupleOf(read: FieldReader): Tuple | undefined {
  const ethType = Number(read('eth_type') ?? 0);
  if (ethType !== 0x0800 && ethType !== 0x86dd) return undefined;
  const v6 = ethType === 0x86dd;
  const src = String(read(v6 ? 'ipv6_src' : 'ip_src') ?? '');
  const dst = String(read(v6 ? 'ipv6_dst' : 'ip_dst') ?? '');
  const proto = Number(read('ip_proto') ?? 0);
  let a = '';
  let b = '';
  if (proto === 6 || proto === 17) {
    const f = proto === 6 ? 'tcp' : 'udp';
    const sp = Number(read(`${f}_src`) ?? 0);
    const dp = Number(read(`${f}_dst`) ?? 0);
    a = `${sp}>${dp}`;
    b = `${dp}>${sp}`;
  } else if (proto === 1 || proto === 58) {
    const type = Number(read(proto === 1 ? 'icmp_type' : 'icmpv6_type') ?? 0);
    const pair = ICMP_ECHO_PAIRS[`${proto}:${type}`];
    // Request and reply are one connection: name it by the request type.
    const request = pair === undefined ? type : type === 8 || type === 128 ? type : pair;
    a = b = `icmp${request}`;
  }
  return { forward: `${proto}|${src}|${dst}|${a}`, reverse: `${proto}|${dst}|${src}|${b}`, src, dst, v6, replyAfter: (s2, d2) => `${proto}|${d2}|${s2}|${b}` };
}

export class Conntrack {
  private readonly zones = new Map<number, Map<string, Entry>>();

  private find(zone: number, t: Tuple): Entry | undefined {
    return this.zones.get(zone)?.get(t.forward);
  }

  /** What `ct(zone)` reports for the packet. */
  lookup(zone: number, read: FieldReader): CtLookup {
    const t = tupleOf(read);
    const e = t ? this.find(zone, t) : undefined;
    if (!e) return { state: 0x20 | 0x01, mark: 0 };
    return { state: 0x20 | 0x02 | (e.reply ? 0x08 : 0), mark: e.conn.mark };
  }

  /**
   * `ct(commit)`: the connection exists from now on; `mark` (when set) becomes
   * its ct_mark; `nat` is the translation of a connection committed now (an
   * existing one keeps its own).
   */
  commit(zone: number, read: FieldReader, mark: number | undefined, nat?: NatSpec): void {
    const t = tupleOf(read);
    if (!t) return;
    let conns = this.zones.get(zone);
    if (!conns) this.zones.set(zone, (conns = new Map()));
    const found = conns.get(t.forward);
    if (found) {
      if (mark !== undefined) found.conn.mark = mark;
      return;
    }
    const conn: Connection = { mark: mark ?? 0, src: t.src, dst: t.dst, v6: t.v6, ...(nat ? { nat } : {}) };
    const src = nat?.kind === 'src' ? nat.address : t.src;
    const dst = nat?.kind === 'dst' ? nat.address : t.dst;
    conns.set(t.forward, { conn, reply: false });
    conns.set(t.replyAfter(src, dst), { conn, reply: true });
  }

  /** What `nat` in `ct(zone)` does to the packet: its connection's translation, or the reverse for a reply. */
  translate(zone: number, read: FieldReader): Rewrite[] {
    const t = tupleOf(read);
    const e = t ? this.find(zone, t) : undefined;
    const nat = e?.conn.nat;
    if (!e || !nat) return [];
    const [srcField, dstField] = e.conn.v6 ? (['ipv6_src', 'ipv6_dst'] as const) : (['ip_src', 'ip_dst'] as const);
    if (!e.reply) return [{ field: nat.kind === 'src' ? srcField : dstField, value: nat.address }];
    return [nat.kind === 'src' ? { field: dstField, value: e.conn.src } : { field: srcField, value: e.conn.dst }];
  }

  /** Tuple keys in a zone (for tests): two per connection, its original direction and its reply's. */
  size(zone: number): number {
    return this.zones.get(zone)?.size ?? 0;
  }
}
