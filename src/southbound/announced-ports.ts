/**
 * OpenFlow port numbers as the switch announces them (OFPT_PORT_STATUS), used
 * for an interface until OVSDB records its `ofport`.
 *
 * ovs-vswitchd adds a new interface to the datapath, tells its controllers at
 * once (PORT_STATUS ADD, with the port's name and number), and writes
 * `Interface.ofport` in a later database transaction of its main loop. That
 * write comes a few ms after the announcement on a bridge of a hundred ports
 * and tens of ms after it on one of several hundred (OVS 3.1, from the insert:
 * p50 6.6 → 54 ms for the ofport, 3.5 → 12 ms for the announcement).
 * An attach waits for the number, so the host view takes it from whichever
 * comes first; OVSDB's value, once there, is the one used.
 *
 * A name is not an identity: an interface deleted and added again under the
 * same name gets a port of its own, and the announcement of the old one must
 * not number the new row. So an interface gone from the view takes its name's
 * announcement with it (if the switch announced the new port already, the row
 * merely waits for OVSDB), the switch's DELETE removes it, and one OVSDB has
 * numbered is dropped as no longer needed. A switch that disconnects takes its
 * announcements along: they are only ever a head start.
 */
import { OFPPR } from '../../protocols/openflow/constants';
import type { PortStatus } from '../../protocols/openflow/messages';
import type { OvsInterface, OvsView } from './ovs-view';
import { sameEntries } from '../../protocols/common/maps';

/** The announced stand-in of each interface value, so a view built again holds the same object. */
const numbered = new WeakMap<OvsInterface, OvsInterface>();

function withPort(iface: OvsInterface, ofport: number): OvsInterface {
  const known = numbered.get(iface);
  if (known?.ofport === ofport) return known;
  const value = { ...iface, ofport };
  numbered.set(iface, value);
  return value;
}

export class AnnouncedPorts {
  /** Datapath id → interface name → port number, for names OVSDB has not numbered yet (as far as the last pass saw). */
  private readonly byDpid = new Map<string, Map<string, number>>();

  /** A PORT_STATUS from the switch of `dpid`. */
  note(dpid: string, status: PortStatus): void {
    const { name, portNo } = status.port;
    let ports = this.byDpid.get(dpid);
    if (status.reason === OFPPR.DELETE) {
      if (ports?.get(name) === portNo) ports.delete(name);
      if (ports?.size === 0) this.byDpid.delete(dpid);
      return;
    }
    if (!ports) this.byDpid.set(dpid, (ports = new Map()));
    ports.set(name, portNo);
  }

  /** The switch of `dpid` disconnected. */
  forget(dpid: string): void {
    this.byDpid.delete(dpid);
  }

  /** Announcements kept, over every switch (for tests). */
  get size(): number {
    let n = 0;
    for (const ports of this.byDpid.values()) n += ports.size;
    return n;
  }

  /**
   * `view` (built from the rows; `previous` the last view returned for this
   * host) with the announced number on each interface OVSDB has not numbered.
   * Unchanged when nothing is announced for `dpid`; a view that numbers the
   * same interfaces as `previous` holds `previous`'s interface map.
   */
  apply(dpid: string | null, view: OvsView, previous: OvsView | undefined): OvsView {
    const ports = dpid === null ? undefined : this.byDpid.get(dpid);
    if (!ports) return view;
    if (previous && previous.interfaces !== view.interfaces) {
      for (const [uuid, iface] of previous.interfaces) if (!view.interfaces.has(uuid)) ports.delete(iface.name);
    }
    let out: Map<string, OvsInterface> | undefined;
    for (const [uuid, iface] of view.interfaces) {
      if (!ports.has(iface.name)) continue;
      if (iface.ofport !== null) {
        ports.delete(iface.name);
        continue;
      }
      out ??= new Map(view.interfaces);
      out.set(uuid, withPort(iface, ports.get(iface.name)!));
    }
    if (ports.size === 0) this.byDpid.delete(dpid!);
    if (!out) return view;
    const interfaces = previous && sameEntries(previous.interfaces, out) ? previous.interfaces : out;
    return { ...view, interfaces };
  }
}
