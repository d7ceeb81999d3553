/**
 * plexusd: wires configuration, etcd, the southbound listeners and the REST API
 * together, and takes them down again in order on SIGTERM/SIGINT. Flows on the
 * switches are never touched on shutdown: fail_mode=secure keeps them forwarding.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { CommanderError } from 'commander';
import { buildApi } from '../api/server';
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger, type Logger } from '../log';
import { Collection } from '../store/collection';
import { EmbeddedEtcd } from '../store/embedded-etcd';
import { Keys } from '../store/keys';
import type { Binding, HostRecord } from '../store/model';
import { BindingWriter } from '../store/bindings';
import { ModelCache } from '../store/model-cache';
import { ModelStore } from '../store/model-store';
import { Overlay } from '../overlay/overlay';
import { HostManager } from '../southbound/host-manager';
import { HostListener } from '../southbound/ovsdb-listener';
import { SwitchServer } from '../southbound/switch-server';
import { Metrics } from '../metrics';
import { resolveMemberId } from './member-id';
import { Membership } from '../cluster/membership';
import { Ownership } from '../cluster/ownership';

/** Longest a single etcd request may take before the caller gets a (recoverable) error. */
const ETCD_CALL_DEADLINE_MS = 2500;

/** The version in package.json, found by walking up from this file (sources and dist/ alike). */
function readVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      if (dirname(dir) === dir) return 'unknown';
    }
  }
}

const VERSION = readVersion();

export interface Daemon {
  readonly memberId: string;
  readonly ports: { readonly api: number; readonly openflow: number; readonly ovsdb: number };
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const memberId = resolveMemberId(config.dataDir, config.memberId);
  log.info('plexusd starting', { member: memberId, version: VERSION, dataDir: config.dataDir, etcd: config.etcd.length ? config.etcd : 'embedded' });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      await stop().catch((err: Error) => log.warn('shutdown step failed', { error: err.message }));
    }
  };
  try {
    let endpoints = config.etcd;
    if (endpoints.length === 0) {
      const etcd = new EmbeddedEtcd(
        { dataDir: config.dataDir, name: memberId, clientPort: config.embeddedEtcdPorts.client, peerPort: config.embeddedEtcdPorts.peer },
        log.child({ module: 'etcd' }),
      );
      await etcd.start();
      stops.push(() => etcd.stop());
      endpoints = [etcd.endpoint];
    }
    // Unary calls get a deadline so that with etcd gone the API answers 503 in seconds, not hangs;
    // streams (watches, lease keepalives) stay open and resume on their own.
    const client = new Etcd3({
      hosts: [...endpoints],
      dialTimeout: 2000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }),
    });
    stops.push(async () => client.close());
    const keys = new Keys(config.etcdPrefix);
    const hosts = new Collection<HostRecord>(client, keys.hosts());

    const cache = new ModelCache(client, keys, log.child({ module: 'model' }));
    await cache.start();
    stops.push(() => cache.stop());

    const switches = new SwitchServer(log.child({ module: 'openflow' }), { maxConnectionsPerAddress: config.maxConnectionsPerAddress });
    const openflowPort = await switches.listen(config.listenOpenflow.host, config.listenOpenflow.port);
    stops.push(() => switches.close());

    // The API listens first: peers hold a heartbeat connection to it as soon as we register.
    let started = false;
    let membership: Membership | undefined;
    let ownership: Ownership | undefined;
    let manager: HostManager | undefined;
    let overlay: Overlay | undefined;
    const model = new ModelStore(client, keys);
    const metrics = new Metrics({
      hostsConnected: () => manager?.connectedHostIds().length ?? 0,
      flowsDesired: () => overlay?.desiredFlowCount() ?? 0,
    });
    const api = await buildApi({
      metrics: metrics.registry,
      memberId,
      version: VERSION,
      log: log.child({ module: 'api' }),
      hosts: { list: () => hosts.list(), get: (id) => hosts.get(id), decommission: (id) => manager!.decommission(id) },
      cluster: {
        members: () => membership?.liveMembers() ?? [],
        masters: () => ownership?.allMasters() ?? new Map(),
      },
      model,
      flowsOf: (endpointId) => overlay?.endpointFlows(endpointId),
      readiness: async () => {
        const etcdOk = await client
          .get(keys.prefix + 'ready-probe')
          .exec()
          .then(() => 'ok', (err: Error) => `unreachable (${err.message})`);
        return { ready: started && etcdOk === 'ok', checks: { etcd: etcdOk, startup: started ? 'ok' : 'in progress' } };
      },
    });
    await api.listen({ host: config.listenApi.host, port: config.listenApi.port });
    const apiAddr = api.server.address();
    const apiPort = typeof apiAddr === 'object' && apiAddr ? apiAddr.port : config.listenApi.port;

    const ovsdb = new HostListener(log.child({ module: 'ovsdb' }), (link) => manager?.attach(link), {
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      maxMessageBytes: config.ovsdbMaxMessageBytes,
      maxBufferedBytes: config.ovsdbMaxBufferedBytes,
    });
    const ovsdbPort = await ovsdb.listen(config.listenOvsdb.host, config.listenOvsdb.port);
    stops.push(() => ovsdb.close());

    membership = new Membership(
      client,
      keys,
      {
        ttlSeconds: config.memberTtlSeconds,
        record: {
          id: memberId,
          api: `${config.advertise}:${apiPort}`,
          openflow: `tcp:${config.advertise}:${openflowPort}`,
          ovsdb: `tcp:${config.advertise}:${ovsdbPort}`,
          advertise: config.advertise,
        },
      },
      log.child({ module: 'cluster' }),
    );
    ownership = new Ownership(client, keys, membership, log.child({ module: 'cluster' }));
    manager = new HostManager(hosts, switches, { mastery: ownership }, log.child({ module: 'hosts' }));
    overlay = new Overlay(
      cache,
      new BindingWriter(new Collection<Binding>(client, keys.bindings())),
      switches,
      manager,
      ownership,
      log.child({ module: 'overlay' }),
      {
        metrics,
        // SPEC §2: an interface with external_ids:plexus-network creates its endpoint (IP from IPAM unless plexus-ip).
        autoCreate: (r) =>
          model
            .createEndpoint({ id: r.id, network: r.network, kind: r.kind, ...(r.mac ? { mac: r.mac } : {}), ...(r.ip ? { ips: [r.ip] } : {}) })
            .then(() => undefined),
      },
    );
    await manager.start();
    stops.push(() => manager!.stop());
    await membership.start();
    await ownership.start();
    stops.push(() => ownership!.stop());
    // Leaving first hands every datapath to the others (revoking the lease drops our master keys).
    stops.push(() => membership!.stop());
    membership.on('changed', () => manager!.rescheduleAll());
    stops.push(() => api.close());
    started = true;

    log.info('plexusd ready', { member: memberId, api: apiPort, openflow: openflowPort, ovsdb: ovsdbPort, advertise: config.advertise });
    return { memberId, ports: { api: apiPort, openflow: openflowPort, ovsdb: ovsdbPort }, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Command-line entry: exit 2 on bad configuration, 1 on a start-up failure. */
export function main(argv: readonly string[]): void {
  let config: Config;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof ConfigError) {
      process.stderr.write(`plexusd: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  process.on('unhandledRejection', (err) => log.error('unhandled rejection (bug)', { error: (err as Error)?.stack ?? String(err) }));
  let daemon: Daemon | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('plexusd stopping', { signal });
    const hardExit = setTimeout(() => process.exit(1), 15_000);
    hardExit.unref();
    void (daemon?.stop() ?? Promise.resolve()).then(() => {
      log.info('plexusd stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  startDaemon(config, log).then(
    (d) => {
      daemon = d;
      if (stopping) void d.stop();
    },
    (err: Error) => {
      log.error('plexusd failed to start', { error: err.message });
      process.exit(1);
    },
  );
}

if (require.main === module) main(process.argv.slice(2));
