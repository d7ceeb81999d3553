/**
 * plexusd: wires configuration, etcd, the southbound listeners and the REST API
 * together, and takes them down again in order on SIGTERM/SIGINT. Flows on the
 * switches are never touched on shutdown: fail_mode=secure keeps them forwarding.
 */
import type { TlsOptions } from 'node:tls';
import { CommanderError } from 'commander';
import { buildApi } from '../api/server';
import { ConfigError, loadConfig, VERSION, type Config } from '../config';
import { createLogger, type Logger } from '../log';
import { Collection } from '../store/collection';
import { EmbeddedEtcd } from '../store/embedded-etcd';
import { Keys } from '../store/keys';
import type { HostRecord } from '../store/model';
import { BindingWriter } from '../store/bindings';
import { MacBindingWriter } from '../store/mac-bindings';
import { EventFeed } from '../store/event-feed';
import { ModelCache } from '../store/model-cache';
import { ModelStore } from '../store/model-store';
import { startOverlay, type Overlay } from '../overlay/overlay';
import { HostManager } from '../southbound/host-manager';
import { HostListener } from '../southbound/ovsdb-listener';
import { SwitchServer } from '../southbound/switch-server';
import { Metrics } from '../metrics';
import { resolveMemberId } from './member-id';
import { probeEtcd, StartAbortedError, waitForEtcd } from './etcd-wait';
import { createEtcdClient } from './etcd-client';
import { Membership } from '../cluster/membership';
import { Ownership } from '../cluster/ownership';

export interface Daemon {
  readonly memberId: string;
  readonly ports: { readonly api: number; readonly openflow: number; readonly ovsdb: number };
  stop(): Promise<void>;
  /** For an immediate exit: signals the children (embedded etcd) to stop, without waiting. */
  abandon(): void;
}

/**
 * Starts every part in order. `signal` aborts a start-up still in progress (a
 * SIGTERM while waiting for etcd): what was started is stopped again and the
 * promise rejects with StartAbortedError.
 */
export async function startDaemon(config: Config, log: Logger, signal?: AbortSignal): Promise<Daemon> {
  const memberId = resolveMemberId(config.dataDir, config.memberId);
  log.info('plexusd starting', { member: memberId, version: VERSION, dataDir: config.dataDir, etcd: config.etcd.length ? config.etcd : 'embedded' });
  const stops: (() => Promise<void>)[] = [];
  const abandons: (() => void)[] = [];
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
      abandons.push(() => etcd.abandon());
      stops.push(() => etcd.stop());
      await etcd.start();
      endpoints = [etcd.endpoint];
    }
    const { client, requestSeconds: etcdRequestSeconds } = createEtcdClient(endpoints, config.etcdTls);
    stops.push(async () => client.close());
    await waitForEtcd(probeEtcd(client, config.etcdPrefix), endpoints, log.child({ module: 'etcd' }), signal ? { signal } : {});
    const keys = new Keys(config.etcdPrefix);
    const hosts = new Collection<HostRecord>(client, keys.hosts());

    const cache = new ModelCache(client, keys, log.child({ module: 'model' }));
    await cache.start();
    stops.push(() => cache.stop());

    const events = new EventFeed(client, keys, log.child({ module: 'events' }));
    await events.start();
    stops.push(() => events.stop());

    const southboundTls = tlsServerOptions(config);
    const switches = new SwitchServer(log.child({ module: 'openflow' }), {
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      ...(southboundTls ? { tls: southboundTls } : {}),
    });
    const openflowPort = await switches.listen(config.listenOpenflow.host, config.listenOpenflow.port);
    stops.push(() => switches.close());

    // The API listens first: peers hold a heartbeat connection to it as soon as we register.
    let started = false;
    let membership: Membership | undefined;
    let ownership: Ownership | undefined;
    let manager: HostManager | undefined;
    let overlay: Overlay | undefined;
    let ovsdb: HostListener | undefined;
    const model = new ModelStore(client, keys);
    const metrics = new Metrics({
      hostsConnected: () => manager?.connectedHostIds().length ?? 0,
      flowsDesired: () => overlay?.desiredFlowCount() ?? 0,
      flowsByHost: () => overlay?.programmer.desiredFlowsByHost() ?? new Map(),
      openflowSessions: () => switches.connectedDpids.length,
      ovsdbSessions: () => ovsdb?.sessionCount ?? 0,
    });
    metrics.register(etcdRequestSeconds);
    const api = await buildApi({
      metrics: metrics.registry,
      memberId,
      version: VERSION,
      log: log.child({ module: 'api' }),
      tokens: config.apiTokens,
      ...(config.tls ? { tls: { cert: config.tls.cert, key: config.tls.key, ...(config.tls.ca ? { ca: config.tls.ca } : {}) } } : {}),
      hosts: { list: () => hosts.list(), get: (id) => hosts.get(id), decommission: (id) => manager!.decommission(id) },
      cluster: {
        members: () => membership?.liveMembers() ?? [],
        masters: () => ownership?.allMasters() ?? new Map(),
      },
      model,
      flowsOf: (endpointId) => overlay?.endpointFlows(endpointId),
      policyOf: (endpointId) => overlay?.endpointPolicy(endpointId),
      events,
      trace: { model: cache, contextOf: (hostId) => overlay?.programmer.contextOf(hostId) },
      readiness: async () => {
        const etcdOk = await client
          .get(keys.probe())
          .exec()
          .then(() => 'ok', (err: Error) => `unreachable (${err.message})`);
        return { ready: started && etcdOk === 'ok', checks: { etcd: etcdOk, startup: started ? 'ok' : 'in progress' } };
      },
    });
    await api.listen({ host: apiListenHost(config, log), port: config.listenApi.port });
    const apiAddr = api.server.address();
    const apiPort = typeof apiAddr === 'object' && apiAddr ? apiAddr.port : config.listenApi.port;

    ovsdb = new HostListener(log.child({ module: 'ovsdb' }), (link) => manager?.attach(link), {
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      maxMessageBytes: config.ovsdbMaxMessageBytes,
      maxBufferedBytes: config.ovsdbMaxBufferedBytes,
      ...(southboundTls ? { tls: southboundTls } : {}),
    });
    const ovsdbPort = await ovsdb.listen(config.listenOvsdb.host, config.listenOvsdb.port);
    stops.push(() => ovsdb!.close());

    membership = new Membership(
      client,
      keys,
      {
        ttlSeconds: config.memberTtlSeconds,
        record: {
          id: memberId,
          api: `${config.advertise}:${apiPort}`,
          openflow: `${switches.scheme}:${config.advertise}:${openflowPort}`,
          ovsdb: `${ovsdb.scheme}:${config.advertise}:${ovsdbPort}`,
          advertise: config.advertise,
        },
        ...(config.tls ? { tls: { cert: config.tls.cert, key: config.tls.key, ...(config.tls.ca ? { ca: config.tls.ca } : {}) } } : {}),
      },
      log.child({ module: 'cluster' }),
    );
    ownership = new Ownership(client, keys, membership, log.child({ module: 'cluster' }));
    metrics.countMastershipChanges(ownership, (host) => ownership?.masterOf(host)?.member);
    manager = new HostManager(hosts, switches, { mastery: ownership, probe: config.hostProbe }, log.child({ module: 'hosts' }));
    manager.on('conflict', (c) => metrics.hostIdentityConflicts.inc({ host: c.hostId }));
    overlay = startOverlay({
      cache,
      bindings: new BindingWriter(client, keys, (h) => manager?.isConnected(h) ?? true),
      macBindings: new MacBindingWriter(client, keys),
      switches,
      hostManager: manager,
      mastery: ownership,
      log: log.child({ module: 'overlay' }),
      metrics,
      // SPEC §2: an interface with external_ids:plexus-network creates its endpoint (IP from IPAM unless plexus-ip).
      autoCreate: (r) =>
        model
          .createEndpoint({ id: r.id, network: r.network, kind: r.kind, ...(r.mac ? { mac: r.mac } : {}), ...(r.ip ? { ips: [r.ip] } : {}) })
          .then(() => undefined),
    });
    stops.push(async () => overlay!.stop());
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
    return { memberId, ports: { api: apiPort, openflow: openflowPort, ovsdb: ovsdbPort }, stop: stopAll, abandon: () => abandons.forEach((a) => a()) };
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
  const aborter = new AbortController();
  // SPEC §11: the first SIGTERM/SIGINT stops gracefully (datapaths handed over, embedded etcd
  // stopped, exit 0); a second one exits at once.
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.warn('plexusd exiting at once (second signal)', { signal });
      daemon?.abandon();
      process.exit(1);
    }
    stopping = true;
    log.info('plexusd stopping', { signal });
    aborter.abort();
    const hardExit = setTimeout(() => {
      log.error('plexusd did not stop in time, exiting', { timeoutMs: STOP_TIMEOUT_MS });
      daemon?.abandon();
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    hardExit.unref();
    // Before start-up has finished, startDaemon itself stops what it started (the abort above).
    if (daemon) void daemon.stop().then(() => exitStopped(log));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  startDaemon(config, log, aborter.signal).then(
    (d) => {
      daemon = d;
      if (stopping) void d.stop().then(() => exitStopped(log));
    },
    (err: Error) => {
      if (err instanceof StartAbortedError || stopping) return exitStopped(log);
      log.error('plexusd failed to start', { error: err.message });
      process.exit(1);
    },
  );
}

/**
 * SPEC §6: without any API token the API is unauthenticated, so it binds
 * loopback only (same port), whatever --listen-api says, and says so.
 */
function apiListenHost(config: Config, log: Logger): string {
  const host = config.listenApi.host;
  if (config.apiTokens.length > 0 || host === '127.0.0.1' || host === '::1' || host === 'localhost') return host;
  const loopback = host.includes(':') ? '::1' : '127.0.0.1';
  log.warn('no API tokens configured: the API listens on loopback only, unauthenticated (add api-tokens to the config file to serve the network)', {
    requested: `${host}:${config.listenApi.port}`,
    listening: `${loopback}:${config.listenApi.port}`,
  });
  return loopback;
}

/** TLS for the OpenFlow and OVSDB listeners (SPEC §11): `ssl:` targets; with --tls-ca, peers need a certificate it signed. */
function tlsServerOptions(config: Config): TlsOptions | undefined {
  if (!config.tls) return undefined;
  return { cert: config.tls.cert, key: config.tls.key, ...(config.tls.ca ? { ca: config.tls.ca, requestCert: true, rejectUnauthorized: true } : {}) };
}

/** Longest a graceful stop may take before plexusd exits anyway (systemd's TimeoutStopSec is 20 s). */
const STOP_TIMEOUT_MS = 15_000;

function exitStopped(log: Logger): void {
  log.info('plexusd stopped');
  process.exit(0);
}

if (require.main === module) main(process.argv.slice(2));
