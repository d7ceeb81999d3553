/**
 * A host without a switch daemon: only `ovsdb-server` with the vswitch schema in
 * a temp dir, joined to a controller like a real host (SPEC §2: system-id,
 * plexus-encap-ip, plexus-bridge-datapath-type=dummy, set-manager). A simulated
 * switch (./sim-switch.ts) plays ovs-vswitchd's OpenFlow side; this class plays
 * its OVSDB side by writing the columns only ovs-vswitchd writes:
 * Bridge.datapath_id and Interface.ofport.
 */
import { OvsHost } from '../../src/sandbox/ovs-host';
import { run, waitFor } from '../../src/sandbox/processes';

const DB = 'Open_vSwitch';

export interface OvsdbHostOptions {
  readonly systemId: string;
  readonly encapIp: string;
  /** `tcp:127.0.0.1:PORT` of the controller's OVSDB manager listener. */
  readonly manager: string;
}

export class OvsdbHost {
  private constructor(
    private readonly ovs: OvsHost,
    readonly options: OvsdbHostOptions,
  ) {}

  get dbSock(): string {
    return this.ovs.dbSock;
  }

  static async start(options: OvsdbHostOptions): Promise<OvsdbHost> {
    const ovs = await OvsHost.start({
      name: `simhost-${options.systemId}`,
      systemId: options.systemId,
      externalIds: { 'plexus-encap-ip': options.encapIp, 'plexus-bridge-datapath-type': 'dummy' },
      switchd: false,
    });
    const host = new OvsdbHost(ovs, options);
    try {
      await host.vsctl('set-manager', options.manager);
    } catch (err) {
      await host.stop();
      throw err;
    }
    return host;
  }

  /** ovs-vsctl without waiting for ovs-vswitchd (there is none). */
  vsctl(...args: string[]): Promise<string> {
    return this.ovs.vsctl(...args).then((r) => r.stdout);
  }

  /** One OVSDB transaction (RFC 7047 §4.1.3) through ovsdb-client; returns its results. */
  async transact(ops: readonly unknown[]): Promise<unknown[]> {
    const { stdout } = await run('ovsdb-client', ['transact', `unix:${this.dbSock}`, JSON.stringify([DB, ...ops])]);
    const results = JSON.parse(stdout) as unknown[];
    const failed = results.find((r) => r && typeof r === 'object' && 'error' in r);
    if (failed) throw new Error(`OVSDB transaction failed: ${JSON.stringify(failed)}`);
    return results;
  }

  /** Waits until the controller has created br-int in this database. */
  async waitForBridge(name = 'br-int', timeoutMs = 30_000): Promise<void> {
    await waitFor(`${name} in ${this.options.systemId}`, async () => {
      const [r] = (await this.transact([{ op: 'select', table: 'Bridge', where: [['name', '==', name]], columns: ['name'] }])) as { rows: unknown[] }[];
      return r!.rows.length > 0;
    }, timeoutMs, 100);
  }

  /** Writes Bridge.datapath_id as ovs-vswitchd does (16 hex digits). */
  async setDatapathId(dpid: bigint, bridge = 'br-int'): Promise<void> {
    await this.transact([{ op: 'update', table: 'Bridge', where: [['name', '==', bridge]], row: { datapath_id: dpid.toString(16).padStart(16, '0') } }]);
  }

  /**
   * Adds workload interfaces to the bridge in one transaction, each with its
   * OpenFlow port number written into `ofport` (ovs-vswitchd's job) and its
   * external_ids (iface-id, attached-mac...).
   */
  async addInterfaces(ifaces: readonly { name: string; ofport: number; externalIds: Readonly<Record<string, string>> }[], bridge = 'br-int'): Promise<void> {
    const ops: unknown[] = [];
    ifaces.forEach((i, k) => {
      ops.push({ op: 'insert', table: 'Interface', 'uuid-name': `i${k}`, row: { name: i.name, ofport: i.ofport, external_ids: ['map', Object.entries(i.externalIds)] } });
      ops.push({ op: 'insert', table: 'Port', 'uuid-name': `p${k}`, row: { name: i.name, interfaces: ['named-uuid', `i${k}`] } });
    });
    ops.push({
      op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]],
      mutations: [['ports', 'insert', ['set', ifaces.map((_, k) => ['named-uuid', `p${k}`])]]],
    });
    await this.transact(ops);
  }

  /** external_ids of every Interface, by name. */
  async interfaceIds(): Promise<Map<string, Record<string, string>>> {
    const [r] = (await this.transact([{ op: 'select', table: 'Interface', where: [], columns: ['name', 'external_ids'] }])) as {
      rows: { name: string; external_ids: ['map', [string, string][]] }[];
    }[];
    return new Map(r!.rows.map((row) => [row.name, Object.fromEntries(row.external_ids[1])]));
  }

  stop(): Promise<void> {
    return this.ovs.stop();
  }

}
