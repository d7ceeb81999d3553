/**
 * Simulated hosts joined to a real plexusd: per host an ovsdb-server
 * (./ovsdb-host.ts) whose Bridge.datapath_id names a simulated switch
 * (./sim-switch.ts) connected to plexusd's OpenFlow port. Shared by the
 * packetin and attach benchmarks.
 *
 * With `emulateOfports`, each host also plays the rest of ovs-vswitchd's OVSDB
 * side: an OVSDB monitor on Interface gives every interface that has no ofport
 * one (br-int's internal interface OFPP_LOCAL, others the lowest free number),
 * and every interface with an ofport becomes a port of the simulated switch
 * (OFPT_PORT_STATUS to the controller). Without it, Plexus' VXLAN tunnels would
 * never get a port number, so no flow toward another host could be compiled.
 * The same monitor reads the Controller rows' `inactivity_probe`, which the
 * switch then follows toward its controller, as ovs-vswitchd does (Plexus
 * raises it for large fleets, southbound/probe-sizing.ts).
 */
import type { Monitor } from '../../protocols/ovsdb/monitor';
import { decodeStringMap, type Row } from '../../protocols/ovsdb/rfc7047';
import { OvsdbSession } from '../../protocols/ovsdb/session';
import { cond, update } from '../../protocols/ovsdb/transact';
import { silentLogger } from '../../src/log';
import type { PlexusdProcess } from '../../src/sandbox/plexusd-process';
import { waitFor } from '../../src/sandbox/processes';
import type { Stoppable, Teardown } from '../sandbox';
import { OvsdbHost } from './ovsdb-host';
import { SimSwitch, type SimPort, type SimSwitchEvent } from './sim-switch';

const DB = 'Open_vSwitch';
/** OVS numbers br-int's own (internal) interface 65534 in OVSDB. */
const OVSDB_LOCAL = 65534;

/** A VXLAN interface's tunnel addresses, for the simulated switch's trace. */
function tunnelOf(row: Row): Pick<SimPort, 'tunnel'> {
  if (row.type !== 'vxlan' || row.options === undefined) return {};
  const o = decodeStringMap(row.options);
  return o.remote_ip ? { tunnel: { remoteIp: o.remote_ip, ...(o.local_ip ? { localIp: o.local_ip } : {}) } } : {};
}

/** OVS's Controller.inactivity_probe when the column is empty (ms). */
const OVS_DEFAULT_PROBE_MS = 5000;
/** Stands for "no probe" (inactivity_probe=0): a silence no run lasts. */
const NO_PROBE_MS = 2 ** 31 - 1;

/**
 * Assigns Interface.ofport as ovs-vswitchd would and mirrors the ports into the
 * simulated switch; makes the switch follow its Controller row's probe.
 */
class OfportKeeper {
  private readonly used = new Set<number>();
  /** Interface uuid → ofport given (or seen). */
  private readonly known = new Map<string, number>();
  private readonly toAssign = new Map<string, Row>();
  private flushing = false;
  private next = 1;
  private probeMs: number | undefined;
  tunnels = 0;
  failures = 0;

  private constructor(private readonly session: OvsdbSession, private readonly sim: SimSwitch) {}

  static async start(dbSock: string, sim: SimSwitch): Promise<OfportKeeper> {
    const session = await OvsdbSession.connect(`unix:${dbSock}`, { logger: silentLogger() });
    const k = new OfportKeeper(session, sim);
    let monitor: Monitor;
    try {
      monitor = await session.monitor(DB, {
        Interface: { columns: ['name', 'type', 'ofport', 'options'] },
        Controller: { columns: ['inactivity_probe'] },
      });
    } catch (err) {
      session.close();
      throw err;
    }
    monitor.replica.on('change', (c) => {
      if (c.table === 'Interface' && c.new) k.onInterface(c.uuid, c.new);
      if (c.table === 'Controller' && c.new) k.onController(c.new);
    });
    for (const [uuid, row] of monitor.replica.rows('Interface')) k.onInterface(uuid, row);
    for (const [, row] of monitor.replica.rows('Controller')) k.onController(row);
    return k;
  }

  /** One controller per simulated switch: its probe is the switch's (0: none, as in OVS). */
  private onController(row: Row): void {
    const column = typeof row.inactivity_probe === 'number' ? row.inactivity_probe : OVS_DEFAULT_PROBE_MS;
    const probeMs = column > 0 ? column : NO_PROBE_MS;
    if (probeMs === this.probeMs) return;
    this.probeMs = probeMs;
    this.sim.setInactivityProbe(probeMs);
  }

  private onInterface(uuid: string, row: Row): void {
    const ofport = typeof row.ofport === 'number' ? row.ofport : undefined;
    if (ofport !== undefined && ofport > 0) {
      this.toAssign.delete(uuid);
      if (this.known.get(uuid) === ofport) return;
      const first = !((this.known.get(uuid) ?? 0) > 0);
      this.known.set(uuid, ofport);
      this.used.add(ofport);
      if (first && row.type === 'vxlan') this.tunnels++;
      if (ofport !== OVSDB_LOCAL && typeof row.name === 'string') this.sim.addPort({ portNo: ofport, name: row.name, ...tunnelOf(row) });
      return;
    }
    if (this.known.has(uuid)) return; // assigned, update on its way
    this.toAssign.set(uuid, row);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  /** One transaction for every interface waiting for a number. */
  private async flush(): Promise<void> {
    const batch = [...this.toAssign];
    this.toAssign.clear();
    const ops = batch.map(([uuid, row]) => {
      let ofport: number;
      if (row.type === 'internal' && row.name === 'br-int') ofport = OVSDB_LOCAL;
      else {
        while (this.used.has(this.next)) this.next++;
        ofport = this.next++;
      }
      this.used.add(ofport);
      this.known.set(uuid, -ofport); // pending: the monitor update confirms it
      return update('Interface', [cond('_uuid', '==', ['uuid', uuid])], { ofport });
    });
    try {
      if (ops.length) await this.session.transact(DB, ops, { timeoutMs: 60_000 });
    } catch {
      this.failures++;
      for (const [uuid] of batch) this.known.delete(uuid);
    } finally {
      this.flushing = false;
      if (this.toAssign.size) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    }
  }

  stop(): void {
    this.session.close();
  }
}

/**
 * One simulated host: ovsdb-server + simulated switch (+ ofport keeper). Like
 * ovs-vswitchd, the switch reconnects (after 1 s) when its controller
 * connection drops, until the host is stopped.
 */
export class SimHost implements Stoppable {
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  reconnects = 0;
  lastDrop = '';
  /** Why this host's OpenFlow connection closed, by reason (numbers as N), for the bench's health line. */
  readonly drops = new Map<string, number>();

  constructor(
    readonly index: number,
    readonly ovsdb: OvsdbHost,
    readonly sim: SimSwitch,
    private readonly keeper: OfportKeeper | undefined,
    private readonly ofPort: number,
  ) {
    sim.on('event', (e: SimSwitchEvent) => {
      if (e.kind !== 'disconnected' || this.stopped) return;
      this.lastDrop = e.reason;
      const reason = e.reason.replace(/\d+/g, 'N');
      this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
      this.reconnectSoon();
    });
  }

  private reconnectSoon(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (this.stopped || this.sim.isConnected) return;
      this.reconnects++;
      this.sim.connect(this.ofPort).catch((err: Error) => {
        this.lastDrop = err.message;
        if (!this.stopped) this.reconnectSoon();
      });
    }, 1000);
  }

  get dbSock(): string {
    return this.ovsdb.dbSock;
  }

  get systemId(): string {
    return this.ovsdb.options.systemId;
  }

  /** VXLAN tunnels that have an ofport (only counted with `emulateOfports`). */
  get tunnelPorts(): number {
    return this.keeper?.tunnels ?? 0;
  }

  /** Stops reconnecting and closes the switch (the ovsdb-server is stopped by the teardown it was added to). */
  close(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.sim.close();
    this.keeper?.stop();
  }

  async stop(): Promise<void> {
    this.close();
    await this.ovsdb.stop();
  }
}

export interface SimHostsOptions {
  readonly count: number;
  readonly plexusd: PlexusdProcess;
  /** system-id of host i is `${idPrefix}${i}` (0-based). */
  readonly idPrefix: string;
  /** Datapath id of host i is dpidBase + i + 1. */
  readonly dpidBase: bigint;
  readonly encapIp: (i: number) => string;
  readonly ports?: (i: number) => SimPort[];
  readonly emulateOfports?: boolean;
  /** Every host is added here as it starts, so a failure part-way still cleans up. */
  readonly teardown: Teardown;
  /** ovsdb-servers started at once (default 8). */
  readonly concurrency?: number;
  readonly readyTimeoutMs?: number;
  readonly progress?: (m: string) => void;
}

async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

/**
 * Starts `count` simulated hosts against plexusd and resolves once plexusd
 * reports every one of them ready (and, where it says, OpenFlow-connected).
 */
export async function startSimHosts(o: SimHostsOptions): Promise<SimHost[]> {
  const p = o.plexusd;
  const limit = o.concurrency ?? 8;
  let started = 0;
  const hosts = await pool(o.count, limit, async (i) => {
    const ovsdb = o.teardown.add(await OvsdbHost.start({ systemId: `${o.idPrefix}${i}`, encapIp: o.encapIp(i), manager: `tcp:127.0.0.1:${p.ports.ovsdb}` }));
    const dpid = o.dpidBase + BigInt(i + 1);
    const sim = new SimSwitch({ datapathId: dpid, ...(o.ports ? { ports: o.ports(i) } : {}) });
    await ovsdb.waitForBridge('br-int', 60_000);
    const keeper = o.emulateOfports ? await OfportKeeper.start(ovsdb.dbSock, sim) : undefined;
    const host = new SimHost(i, ovsdb, sim, keeper, p.ports.openflow);
    o.teardown.add({ stop: async () => host.close() });
    await ovsdb.setDatapathId(dpid);
    await sim.connect(p.ports.openflow);
    if (++started % 100 === 0) o.progress?.(`${started}/${o.count} simulated hosts started`);
    return host;
  });
  let last = '';
  let lastReport = Date.now();
  let reportedDrops = false;
  const what = (): string => `${o.count} simulated hosts ready (last seen: ${last})`;
  await waitFor(what(), async () => {
    if (hosts.some((h) => h.reconnects) && !reportedDrops) {
      reportedDrops = true;
      const h = hosts.find((x) => x.lastDrop);
      o.progress?.(`some OpenFlow connections dropped and were reopened (e.g. ${h?.lastDrop})`);
    }
    const r = await p.api<{ items: { id: string; status: string; ofConnected?: boolean }[] }>('GET', '/v1/hosts?limit=1000');
    const mine = r.body.items.filter((h) => h.id.startsWith(o.idPrefix));
    const byStatus = new Map<string, number>();
    for (const h of mine) {
      const k = `${h.status}${h.ofConnected === false ? '/of-down' : ''}`;
      byStatus.set(k, (byStatus.get(k) ?? 0) + 1);
    }
    last = [...byStatus].map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      o.progress?.(`waiting for plexusd: ${last}; switches connected here: ${hosts.filter((h) => h.sim.isConnected).length}/${o.count}, reconnects ${hosts.reduce((a, h) => a + h.reconnects, 0)}${hosts.find((h) => h.lastDrop) ? ` (e.g. ${hosts.find((h) => h.lastDrop)!.lastDrop})` : ''}`);
    }
    return mine.filter((h) => h.status === 'ready' && h.ofConnected !== false).length === o.count;
  }, o.readyTimeoutMs ?? 60_000 + o.count * 200, 200);
  return hosts;
}
