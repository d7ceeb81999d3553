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
 *   set_field ct_mark.
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

interface Connection {
  mark: number;
}

/** Packet fields as the walk reads them (ovs-fields names; absent = 0). */
export type FieldReader = (name: string) => OxmValue | undefined;

const ICMP_ECHO_PAIRS: Readonly<Record<string, number>> = { '1:8': 0, '1:0': 8, '58:128': 129, '58:129': 128 };

function tupleOf(read: FieldReader): { forward: string; reverse: string } | undefined {
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
  return { forward: `${proto}|${src}|${dst}|${a}`, reverse: `${proto}|${dst}|${src}|${b}` };
}

export class Conntrack {
  private readonly zones = new Map<number, Map<string, Connection>>();

  /** What `ct(zone)` reports for the packet. */
  lookup(zone: number, read: FieldReader): CtLookup {
    const t = tupleOf(read);
    const conns = this.zones.get(zone);
    if (!t || !conns) return { state: 0x20 | 0x01, mark: 0 };
    const fwd = conns.get(t.forward);
    if (fwd) return { state: 0x20 | 0x02, mark: fwd.mark };
    const rev = conns.get(t.reverse);
    if (rev) return { state: 0x20 | 0x02 | 0x08, mark: rev.mark };
    return { state: 0x20 | 0x01, mark: 0 };
  }

  /** `ct(commit)`: the connection exists from now on; `mark` (when set) becomes its ct_mark. */
  commit(zone: number, read: FieldReader, mark: number | undefined): void {
    const t = tupleOf(read);
    if (!t) return;
    let conns = this.zones.get(zone);
    if (!conns) this.zones.set(zone, (conns = new Map()));
    const conn = conns.get(t.forward) ?? conns.get(t.reverse) ?? { mark: 0 };
    if (mark !== undefined) conn.mark = mark;
    if (!conns.has(t.reverse)) conns.set(t.forward, conn);
  }

  /** Connections in a zone (for tests). */
  size(zone: number): number {
    return this.zones.get(zone)?.size ?? 0;
  }
}
