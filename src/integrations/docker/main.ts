/**
 * `plexus-docker` (SPEC §7): serves the Docker network and IPAM driver on
 * /run/docker/plugins/plexus.sock, where dockerd discovers a plugin named
 * `plexus`. Stops on SIGTERM/SIGINT, removing its socket.
 */
import { Command } from 'commander';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../log';
import { defaultOvsTarget } from '../ovs-port';
import { ApiClient } from '../plexus-api';
import { DockerEngine } from './docker-engine';
import { PlexusDockerDriver } from './driver';
import { servePlugin } from './plugin-server';

interface Flags {
  socket: string;
  plexusUrl: string;
  tokenFile?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  ovsdb?: string;
  stateDir: string;
  dockerHost: string;
  syncIntervalMs: string;
  scope: string;
  installTimeoutMs: string;
  logLevel: string;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const program = new Command('plexus-docker')
    .description('Docker libnetwork network + IPAM driver for Plexus')
    .option('--socket <PATH>', 'plugin socket dockerd discovers', '/run/docker/plugins/plexus.sock')
    .option('--plexus-url <URL>', 'Plexus REST API', process.env['PLEXUS_URL'] ?? 'http://127.0.0.1:8181')
    .option('--token-file <FILE>', 'file with the bearer token')
    .option('--cacert <FILE>', 'PEM CA that signed plexusd\'s certificate (https)')
    .option('--cert <FILE>', 'PEM client certificate, when plexusd asks for one')
    .option('--key <FILE>', 'PEM key of --cert')
    .option('--ovsdb <TARGET>', 'this host\'s OVSDB, ovs-vsctl --db form', undefined)
    .option('--state-dir <DIR>', 'where the Docker → Plexus mapping is kept', '/var/lib/plexus-docker')
    .option('--docker-host <URL>', 'this host\'s dockerd (network names, mirroring)', 'unix:///var/run/docker.sock')
    .option('--scope <SCOPE>', 'libnetwork data scope: auto (global when dockerd has --cluster-store), global or local', 'auto')
    .option('--sync-interval-ms <MS>', 'local scope: mirror Plexus networks into dockerd this often (0: never)', '5000')
    .option('--install-timeout-ms <MS>', 'how long Join waits for plexus-installed', '30000')
    .option('--log-level <LEVEL>', 'log level', 'info')
    .parse([...argv], { from: 'user' });
  const f = program.opts<Flags>();
  if (!['auto', 'global', 'local'].includes(f.scope)) throw new Error(`--scope must be auto, global or local, not "${f.scope}"`);
  const log = createLogger(f.logLevel);
  const driver = new PlexusDockerDriver({
    api: new ApiClient({
      url: f.plexusUrl,
      ...(f.tokenFile ? { tokenFile: f.tokenFile } : {}),
      ...(f.cacert ? { cacert: f.cacert } : {}),
      ...(f.cert ? { cert: f.cert } : {}),
      ...(f.key ? { key: f.key } : {}),
    }),
    ovs: defaultOvsTarget(f.ovsdb),
    stateFile: join(f.stateDir, 'state.json'),
    docker: new DockerEngine(f.dockerHost),
    scope: f.scope as 'auto' | 'global' | 'local',
    syncIntervalMs: Number(f.syncIntervalMs),
    installTimeoutMs: Number(f.installTimeoutMs),
    log,
  });
  driver.start();
  const server = await servePlugin(driver, f.socket, log);
  log.info('plexus-docker listening', { module: 'plexus-docker', socket: f.socket, plexus: f.plexusUrl });
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    driver.stop();
    server.close(() => {
      rmSync(f.socket, { force: true });
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`plexus-docker: ${err.message}\n`);
    process.exit(1);
  });
}
