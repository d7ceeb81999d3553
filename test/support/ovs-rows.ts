/**
 * A host's monitored OVSDB rows (RFC 7047 values, as the replica holds them)
 * for tests of the incremental host pass: every change replaces the row object,
 * as the replica does, so unchanged rows keep their identity.
 */
import { map, set, uuid, type Row, type Value } from '../../protocols/ovsdb/rfc7047';
import type { TableRows } from '../../src/southbound/ovs-view';

export const U = (n: number): string => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;

const refs = (uuids: readonly string[]): Value => set(uuids.map(uuid));

export class HostRows {
  private readonly tables = new Map<string, Map<string, Row>>(
    ['Open_vSwitch', 'Bridge', 'Port', 'Interface', 'Controller', 'Manager'].map((t) => [t, new Map<string, Row>()]),
  );
  private next = 1000;

  rows(): TableRows {
    return this.tables;
  }

  /** Replaces a row with a copy holding `columns` changed (a new object, as the replica makes). */
  change(table: string, id: string, columns: Row): void {
    const rows = this.tables.get(table)!;
    rows.set(id, { ...rows.get(id), ...columns });
  }

  get(table: string, id: string): Row | undefined {
    return this.tables.get(table)!.get(id);
  }

  /** A host as Plexus configures it: br-int with one controller, plexus-vxlan, one manager. */
  static configured(systemId = 'h1', rootIds: Record<string, string> = {}): HostRows {
    const h = new HostRows();
    h.tables.get('Open_vSwitch')!.set(U(1), {
      external_ids: map({ 'system-id': systemId, 'plexus-encap-ip': '10.0.0.1', 'plexus-bridge-datapath-type': 'netdev', ...rootIds }),
      ovs_version: '3.1.0', bridges: refs([U(2)]), manager_options: refs([U(4)]),
    });
    h.tables.get('Controller')!.set(U(3), {
      target: 'tcp:127.0.0.1:6653', is_connected: true, role: 'master', connection_mode: 'out-of-band', inactivity_probe: 5000, max_backoff: 1000,
    });
    h.tables.get('Manager')!.set(U(4), { target: 'ptcp:6640', inactivity_probe: 5000, max_backoff: 1000 });
    h.tables.get('Bridge')!.set(U(2), {
      name: 'br-int', datapath_id: '0000aabbccddeeff', datapath_type: 'netdev', fail_mode: 'secure', protocols: 'OpenFlow13',
      controller: refs([U(3)]), ports: refs([]), other_config: map({ 'disable-in-band': 'true' }),
    });
    h.addPort(U(2), 'br-int', { type: 'internal', ofport: 65534 });
    h.addPort(U(2), 'plexus-vxlan', { type: 'vxlan', options: map({ key: 'flow', local_ip: '10.0.0.1', remote_ip: 'flow', tos: 'inherit' }), ofport: 1 });
    return h;
  }

  /** A bridge with no ports (br-ex for patch ports). */
  addBridge(name: string): string {
    const id = U(this.next++);
    this.tables.get('Bridge')!.set(id, {
      name, datapath_id: set([]), datapath_type: 'netdev', fail_mode: set([]), protocols: set([]), controller: set([]), ports: refs([]), other_config: map({}),
    });
    const root = [...this.tables.get('Open_vSwitch')!.keys()][0]!;
    this.change('Open_vSwitch', root, { bridges: refs([...this.refsOf('Open_vSwitch', root, 'bridges'), id]) });
    return id;
  }

  /** A port with one interface on `bridge`; returns the interface's uuid (its port's is `portOf`). */
  addPort(bridge: string, name: string, iface: Row = {}, portIds: Record<string, string> = {}): string {
    const ifaceId = U(this.next++);
    const portId = U(this.next++);
    this.tables.get('Interface')!.set(ifaceId, { name, type: '', options: map({}), external_ids: map({}), ofport: set([]), error: set([]), ...iface });
    this.tables.get('Port')!.set(portId, { name, interfaces: refs([ifaceId]), external_ids: map(portIds) });
    this.change('Bridge', bridge, { ports: refs([...this.refsOf('Bridge', bridge, 'ports'), portId]) });
    return ifaceId;
  }

  /** Removes a port (and its interfaces) from its bridge. */
  removePort(bridge: string, ifaceId: string): void {
    const portId = this.portOf(ifaceId);
    this.change('Bridge', bridge, { ports: refs(this.refsOf('Bridge', bridge, 'ports').filter((p) => p !== portId)) });
    this.tables.get('Port')!.delete(portId);
    this.tables.get('Interface')!.delete(ifaceId);
  }

  portOf(ifaceId: string): string {
    for (const [id, row] of this.tables.get('Port')!) if (this.refsOf('Port', id, 'interfaces').includes(ifaceId) && row) return id;
    throw new Error(`no port holds interface ${ifaceId}`);
  }

  /** The interface's external_ids as a record. */
  externalIds(ifaceId: string): Record<string, string> {
    const v = this.get('Interface', ifaceId)!['external_ids'] as ['map', [string, string][]];
    return Object.fromEntries(v[1]);
  }

  setExternalIds(ifaceId: string, ids: Record<string, string>): void {
    this.change('Interface', ifaceId, { external_ids: map(ids) });
  }

  private refsOf(table: string, id: string, column: string): string[] {
    const v = this.get(table, id)![column] as Value;
    const atoms = Array.isArray(v) && v[0] === 'set' ? (v[1] as Value[]) : [v];
    return atoms.map((a) => (a as ['uuid', string])[1]);
  }
}
