import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngineError, type DockerApi, type DockerNetwork } from '../../../src/integrations/docker/docker-engine';
import { PlexusDockerDriver } from '../../../src/integrations/docker/driver';
import { MIRROR_LABEL } from '../../../src/integrations/docker/libnetwork';
import { ApiClient } from '../../../src/integrations/plexus-api';

interface FakeNetwork {
  id: string;
  name: string;
  mtu: number;
}
interface FakeSubnet {
  id: string;
  network: string;
  cidr: string;
  ipVersion: 4 | 6;
  gateway: string | null;
  routes: never[];
}

/** The part of the Plexus REST API plexus-docker's networks and mirroring use, in memory, on loopback. */
class FakePlexus {
  readonly networks = new Map<string, FakeNetwork>();
  readonly subnets: FakeSubnet[] = [];
  /** Called when a client lists a network's subnets, after the answer was read and before it goes out. */
  onListSubnets: (network: string) => void = () => undefined;
  private server: Server | undefined;

  addNetwork(id: string, name: string, cidr: string): void {
    this.networks.set(id, { id, name, mtu: 1450 });
    this.subnets.push({ id: `s-${id}`, network: id, cidr, ipVersion: 4, gateway: cidr.replace(/0\/\d+$/, '1'), routes: [] });
  }

  deleteNetwork(id: string): void {
    this.networks.delete(id);
    for (let i = this.subnets.length - 1; i >= 0; i--) if (this.subnets[i]!.network === id) this.subnets.splice(i, 1);
  }

  private byIdOrName(key: string): FakeNetwork | undefined {
    return this.networks.get(key) ?? [...this.networks.values()].find((n) => n.name === key);
  }

  async start(): Promise<ApiClient> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const body = text ? (JSON.parse(text) as Record<string, string>) : {};
        const [status, out] = this.answer(req.method ?? 'GET', url, body);
        res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
        res.end(out === undefined ? '' : JSON.stringify(out));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return new ApiClient({ url: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}` });
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private answer(method: string, url: URL, body: Record<string, string>): [number, unknown] {
    const notFound: [number, unknown] = [404, { title: 'Not Found', detail: `no ${url.pathname}` }];
    const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (path[1] === 'networks' && path.length === 2 && method === 'GET') return [200, { items: [...this.networks.values()] }];
    if (path[1] === 'networks' && path.length === 2 && method === 'POST') {
      const id = body['id'] ?? `n-${this.networks.size}`;
      if (this.networks.has(id)) return [409, { title: 'Conflict', detail: id }];
      this.networks.set(id, { id, name: body['name']!, mtu: 1450 });
      return [201, this.networks.get(id)];
    }
    if (path[1] === 'networks' && path.length === 3) {
      const n = this.byIdOrName(path[2]!);
      if (!n) return notFound;
      if (method === 'GET') return [200, n];
      if (method === 'DELETE') return (this.deleteNetwork(n.id), [204, undefined]);
      if (method === 'PATCH') return (Object.assign(n, body), [200, n]);
    }
    if (path[1] === 'subnets' && method === 'GET') {
      const key = url.searchParams.get('network') ?? '';
      const n = this.byIdOrName(key);
      const items = this.subnets.filter((s) => s.network === n?.id);
      this.onListSubnets(key);
      return [200, { items }];
    }
    if (path[1] === 'subnets' && method === 'POST') {
      if (!this.networks.has(body['network']!)) return notFound;
      const s: FakeSubnet = { id: `s-${this.subnets.length}`, network: body['network']!, cidr: body['cidr']!, ipVersion: 4, gateway: body['gateway'] ?? null, routes: [] };
      this.subnets.push(s);
      return [201, s];
    }
    return notFound;
  }
}

/** A dockerd that, as libnetwork does, asks the plugin for the pool, the gateway and CreateNetwork before it stores a network. */
class FakeDockerd implements DockerApi {
  readonly networks = new Map<string, DockerNetwork>();
  driver: PlexusDockerDriver | undefined;
  /** Called once dockerd stored a network (after the driver's CreateNetwork answered). */
  afterCreate: (name: string) => void = () => undefined;

  private async call(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      return await this.driver!.handlers[path]!(body);
    } catch (err) {
      throw new DockerEngineError(`plugin ${path}: ${(err as Error).message}`, 500);
    }
  }

  async info(): Promise<{ ClusterStore?: string }> {
    return {};
  }

  async inspectNetwork(id: string): Promise<DockerNetwork> {
    const d = this.networks.get(id);
    if (!d) throw new DockerEngineError(`no network ${id}`, 404);
    return d;
  }

  async listNetworks(driver?: string): Promise<DockerNetwork[]> {
    return [...this.networks.values()].filter((d) => !driver || d.Driver === driver);
  }

  async createNetwork(body: Record<string, unknown>): Promise<{ Id: string }> {
    const name = body['Name'] as string;
    if ([...this.networks.values()].some((d) => d.Name === name)) throw new DockerEngineError(`network with name ${name} already exists`, 409);
    const id = randomBytes(32).toString('hex');
    const ipam = body['IPAM'] as { Config: { Subnet: string; Gateway?: string }[] };
    const options = (body['Options'] ?? {}) as Record<string, string>;
    const ipv4Data: Record<string, string>[] = [];
    for (const c of ipam.Config) {
      const pool = await this.call('/IpamDriver.RequestPool', { AddressSpace: 'plexus', Pool: c.Subnet, Options: options });
      const gw = await this.call('/IpamDriver.RequestAddress', {
        PoolID: pool['PoolID'], Address: c.Gateway ?? '', Options: { RequestAddressType: 'com.docker.network.gateway' },
      });
      ipv4Data.push({ AddressSpace: 'plexus', Pool: c.Subnet, Gateway: gw['Address'] as string });
    }
    await this.call('/NetworkDriver.CreateNetwork', { NetworkID: id, Options: { 'com.docker.network.generic': options }, IPv4Data: ipv4Data, IPv6Data: [] });
    this.networks.set(id, {
      Id: id, Name: name, Driver: 'plexus', Options: options,
      Labels: (body['Labels'] ?? {}) as Record<string, string>, IPAM: { Driver: 'plexus', Config: ipam.Config },
    });
    this.afterCreate(name);
    return { Id: id };
  }

  async removeNetwork(id: string): Promise<void> {
    if (!this.networks.has(id)) throw new DockerEngineError(`no network ${id}`, 404);
    await this.call('/NetworkDriver.DeleteNetwork', { NetworkID: id });
    this.networks.delete(id);
  }
}

/**
 * Mirroring in local scope (SPEC §7) with no process: a fake Plexus API on
 * loopback and a fake dockerd that calls the driver's plugin handlers as
 * libnetwork does. Each case runs single sync passes and reads state.json.
 * (Mirroring touches no OVS: the OVSDB target is never used.)
 */
describe('plexus-docker mirroring (fake dockerd and Plexus API)', () => {
  let dir: string;
  let plexus: FakePlexus;
  let dockerd: FakeDockerd;
  let driver: PlexusDockerDriver;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-docker-mirrors-'));
    plexus = new FakePlexus();
    dockerd = new FakeDockerd();
    const api = await plexus.start();
    driver = new PlexusDockerDriver({ api, ovs: { db: 'unix:/nonexistent', bridge: 'br-int' }, stateFile: join(dir, 'state.json'), docker: dockerd, scope: 'local', syncIntervalMs: 0 });
    dockerd.driver = driver;
    driver.start();
  });

  afterEach(async () => {
    driver.stop();
    await plexus.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const stateNetworks = (): Record<string, { plexus: string; created: boolean }> => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { networks: Record<string, { plexus: string; created: boolean }> }).networks;
    } catch {
      return {};
    }
  };
  const mirrors = (): string[] => [...dockerd.networks.values()].map((d) => `${d.Name} ${d.Labels?.[MIRROR_LABEL] ?? ''}`);

  it('mirrors a Plexus network by adopting it, and removes the mirror once the network is gone', async () => {
    plexus.addNetwork('net-a', 'blue', '10.1.0.0/24');
    await driver.syncMirrors();
    assert.deepEqual(mirrors(), ['blue net-a']);
    assert.deepEqual(Object.values(stateNetworks()).map((n) => [n.plexus, n.created]), [['net-a', false]]);
    assert.deepEqual([...plexus.networks.keys()], ['net-a']);

    plexus.deleteNetwork('net-a');
    await driver.syncMirrors();
    assert.deepEqual(mirrors(), []);
    assert.deepEqual(stateNetworks(), {});
  });

  it('a network deleted after the pass listed it gets no mirror, and no Plexus network is made in its place', async () => {
    plexus.addNetwork('net-a', 'blue', '10.1.0.0/24');
    // Another host's `docker network rm` lands between this pass's listing and its mirror.
    plexus.onListSubnets = (network) => {
      if (network === 'net-a') plexus.deleteNetwork('net-a');
    };
    await driver.syncMirrors();
    assert.deepEqual([...plexus.networks.values()].map((n) => n.name), [], 'Plexus networks');
    assert.deepEqual(mirrors(), [], 'Docker networks');
    assert.deepEqual(stateNetworks(), {}, 'state.json networks');
  });

  it('a network deleted while its mirror was being created loses the mirror in the same pass', async () => {
    plexus.addNetwork('net-a', 'blue', '10.1.0.0/24');
    dockerd.afterCreate = (name) => {
      if (name === 'blue') plexus.deleteNetwork('net-a');
    };
    await driver.syncMirrors();
    assert.deepEqual(mirrors(), [], 'Docker networks');
    assert.deepEqual(stateNetworks(), {}, 'state.json networks');
    assert.deepEqual([...plexus.networks.keys()], [], 'Plexus networks');
  });
});
