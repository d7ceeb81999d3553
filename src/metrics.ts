/**
 * Prometheus metrics (SPEC §8), served at /metrics on the API port. One
 * registry per daemon (tests run several daemons' code in one process).
 * Names follow Prometheus' conventions (`promtool check metrics` runs in npm
 * test): `plexus_` once, base units, `_total` on counters only.
 */
import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export interface MetricSources {
  readonly hostsConnected: () => number;
  readonly flowsDesired: () => number;
  readonly openflowSessions?: () => number;
  readonly ovsdbSessions?: () => number;
  /** Desired flows per host this member programs. */
  readonly flowsByHost?: () => ReadonlyMap<string, number>;
}

/**
 * prom-client's default Node.js gauges that end in `_total` (a suffix reserved
 * for counters); the same counts remain, by type, in the gauges without it.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export class Metrics {
  readonly registry = new Registry();
  readonly hostsConnected: Gauge;
  readonly flowsDesired: Gauge;
  readonly flowMods: Counter<'kind'>;
  readonly reconcileSeconds: Histogram<'full'>;
  readonly attachInstalledSeconds: Histogram<'host'>;
  readonly mastershipChanges: Counter;
  readonly packetIns: Counter<'reason'>;
  readonly reconcileErrors: Counter<'host'>;
  readonly hostIdentityConflicts: Counter<'host'>;

  constructor(collect: MetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'plexus_' });
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(`plexus_${name}`);
    const registers = [this.registry];
    this.hostsConnected = new Gauge({
      name: 'plexus_hosts_connected',
      help: 'Hosts whose OVSDB is connected to this member',
      registers,
      collect() {
        this.set(collect.hostsConnected());
      },
    });
    this.flowsDesired = new Gauge({
      name: 'plexus_flows_desired',
      help: 'Flows this member wants on the switches it programs',
      registers,
      collect() {
        this.set(collect.flowsDesired());
      },
    });
    new Gauge({
      name: 'plexus_openflow_sessions',
      help: 'OpenFlow sessions of switches with this member (master or standby)',
      registers,
      collect() {
        this.set(collect.openflowSessions?.() ?? 0);
      },
    });
    new Gauge({
      name: 'plexus_ovsdb_sessions',
      help: 'OVSDB manager sessions hosts hold with this member',
      registers,
      collect() {
        this.set(collect.ovsdbSessions?.() ?? 0);
      },
    });
    this.flowMods = new Counter({ name: 'plexus_flow_mods_total', help: 'Flow mods sent, by kind', labelNames: ['kind'], registers });
    this.reconcileSeconds = new Histogram({
      name: 'plexus_reconcile_seconds',
      help: 'Time to apply one change set to a switch (full = read back and compare everything)',
      labelNames: ['full'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.attachInstalledSeconds = new Histogram({
      name: 'plexus_attach_installed_seconds',
      help: 'From an interface appearing on a host to every flow of its endpoint installed there',
      labelNames: ['host'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    new Gauge({
      name: 'plexus_host_flows_desired',
      help: 'Flows this member wants on each host it programs',
      labelNames: ['host'],
      registers,
      collect() {
        this.reset();
        for (const [host, n] of collect.flowsByHost?.() ?? []) this.set({ host }, n);
      },
    });
    this.packetIns = new Counter({
      name: 'plexus_packet_ins_total',
      help: 'Packet-ins received from switches this member masters, by the feature of the flow that punted them (dhcp, arp = IPv6 ND, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'plexus_reconcile_errors_total',
      help: 'Change sets a switch refused or that failed, by host (a full resync follows)',
      labelNames: ['host'],
      registers,
    });
    this.hostIdentityConflicts = new Counter({
      name: 'plexus_host_identity_conflicts_total',
      help: 'OVSDB sessions refused because another Open vSwitch holds their system-id, by host id',
      labelNames: ['host'],
      registers,
    });
    this.mastershipChanges = new Counter({
      name: 'plexus_mastership_changes_total',
      help: 'Datapaths whose master member changed, as seen by this member',
      registers,
    });
  }

  /** Adds a metric built elsewhere (the etcd client's request histogram). */
  register(metric: Metric): void {
    this.registry.registerMetric(metric);
  }

  /** Counts every change of a datapath's master that `mastery` reports (`changed` events with a host id). */
  countMastershipChanges(mastery: EventEmitter, masterOf: (host: string) => string | undefined): void {
    // A datapath getting a master, or another one; a key briefly absent between two masters is not a change of its own.
    const last = new Map<string, string>();
    mastery.on('changed', (host: string) => {
      const now = masterOf(host);
      if (now === undefined || last.get(host) === now) return;
      last.set(host, now);
      this.mastershipChanges.inc();
    });
  }
}
