/**
 * Prometheus metrics (SPEC §8), served at /metrics on the API port. One
 * registry per daemon (tests run several daemons' code in one process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly hostsConnected: Gauge;
  readonly flowsDesired: Gauge;
  readonly flowMods: Counter<'kind'>;
  readonly reconcileSeconds: Histogram<'full'>;
  readonly attachInstalledSeconds: Histogram;

  constructor(collect: { hostsConnected: () => number; flowsDesired: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'plexus_process_' });
    this.hostsConnected = new Gauge({
      name: 'plexus_hosts_connected',
      help: 'Hosts whose OVSDB is connected to this member',
      registers: [this.registry],
      collect() {
        this.set(collect.hostsConnected());
      },
    });
    this.flowsDesired = new Gauge({
      name: 'plexus_flows_desired',
      help: 'Flows this member wants on the switches it programs',
      registers: [this.registry],
      collect() {
        this.set(collect.flowsDesired());
      },
    });
    this.flowMods = new Counter({ name: 'plexus_flow_mods_total', help: 'Flow mods sent, by kind', labelNames: ['kind'], registers: [this.registry] });
    this.reconcileSeconds = new Histogram({
      name: 'plexus_reconcile_seconds',
      help: 'Time to apply one change set to a switch (full = read back and compare everything)',
      labelNames: ['full'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.attachInstalledSeconds = new Histogram({
      name: 'plexus_attach_installed_seconds',
      help: 'From an interface appearing on a host to every flow of its endpoint installed there',
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }
}
