import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerHost } from '../../../src/sandbox/docker-host';
import { EtcdCluster } from '../../../src/sandbox/etcd-cluster';
import type { Lab } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';

interface Ep {
  id: string;
  network: string;
  status: string;
  host: string;
  ips: string[];
  securityGroups: string[];
}

/**
 * plexus-docker in global data scope (SPEC §7): both dockerds share a cluster
 * store (a dedicated etcd with the v2 API, `dockerd --cluster-store etcd://`),
 * so the network `docker network create` makes on host 1 is the same Docker
 * network on host 2 (one id, scope global, no mirror). Host 2, which never saw
 * CreateNetwork, attaches a container to it with the network's options, host 1
 * pings it, and `docker network rm` on host 2 removes the Plexus network.
 */
describe('plexus-docker in global scope: two dockerds with a cluster store @slow', function () {
  this.timeout(300_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  let store: EtcdCluster;
  const hosts: DockerHost[] = [];
  let dockerId = '';
  let webGroup = '';

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd({ plexusd: { adminToken: true } }));
    // The dockerds reach it over the management segment, like Plexus itself.
    store = await EtcdCluster.start(1, { clientHost: lab.controllerAddress, enableV2: true });
    const clusterStore = store.endpoints.replace(/^http:/, 'etcd:');
    for (const h of lab.hosts) {
      hosts.push(await DockerHost.start({ host: h, plexusUrl: `http://${lab.controllerAddress}:${plexusd.ports.api}`, tokenFile: plexusd.tokenFile!, clusterStore, logLevel: 'debug' }));
    }
  });

  after(async () => {
    for (const h of hosts) await h.stop();
    await store?.stop();
    await lab?.stop();
    await plexusd?.destroy();
  });

  const driverLogs = (): string => hosts.map((h) => `--- plexus-docker ${h.host.id}\n${h.driverLogs.slice(-3000)}`).join('\n');
  const docker = async (i: number, ...args: string[]): Promise<string> => {
    try {
      return await hosts[i]!.docker(...args);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${driverLogs()}`);
    }
  };

  it('network create on host 1 is one global network in both dockerds, backed by Plexus network docker-<id>, with no mirror', async () => {
    const sg = await plexusd.api<{ id: string }>('POST', '/v1/security-groups', { name: 'web' });
    assert.equal(sg.status, 201);
    webGroup = sg.body.id;
    // web lets pings in: host 1's container (no group) must reach host 2's through the policy.
    assert.equal((await plexusd.api('POST', `/v1/security-groups/${webGroup}/rules`, { direction: 'ingress', protocol: 'icmp', remoteCidr: '0.0.0.0/0' })).status, 201);
    dockerId = await docker(0, 'network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', '--subnet', '192.168.210.0/24', '-o', 'plexus.security-groups=web', 'GlobalSN');
    assert.equal(await docker(0, 'network', 'inspect', '-f', '{{.Scope}}', 'GlobalSN'), 'global', driverLogs());
    assert.equal(await docker(1, 'network', 'inspect', '-f', '{{.Id}} {{.Scope}}', 'GlobalSN'), `${dockerId} global`);
    const net = await waitFor('Plexus network named GlobalSN', async () => {
      const r = await plexusd.api<{ id: string; name: string }>('GET', '/v1/networks/GlobalSN');
      return r.status === 200 ? r.body : undefined;
    }, 15_000);
    assert.equal(net.id, `docker-${dockerId}`);
    const subnets = (await plexusd.api<{ items: { cidr: string; gateway: string }[] }>('GET', `/v1/subnets?network=${net.id}`)).body.items;
    assert.deepEqual(subnets.map((s) => [s.cidr, s.gateway]), [['192.168.210.0/24', '192.168.210.1']]);
  });

  it('host 2 (which never saw CreateNetwork) attaches a container with the network\'s groups; a container on host 1 pings it', async () => {
    await docker(1, 'run', '-d', '--name', 'c2', '--net', 'GlobalSN', hosts[1]!.image, 'sleep', '600');
    const c2ip = await hosts[1]!.ipOf('c2', 'GlobalSN');
    assert.match(c2ip, /^192\.168\.210\.\d+$/);
    const eps = (await plexusd.api<{ items: Ep[] }>('GET', `/v1/endpoints?network=docker-${dockerId}`)).body.items;
    const e2 = eps.find((e) => e.ips.includes(c2ip));
    assert.ok(e2, `a Plexus endpoint holds ${c2ip}: ${JSON.stringify(eps)}`);
    assert.deepEqual([e2.status, e2.host, e2.securityGroups], ['installed', 'h2', [webGroup]]);
    const t0 = Date.now();
    const out = await docker(0, 'run', '--rm', '--net', 'GlobalSN', hosts[0]!.image, 'ping', '-c', '1', '-W', '2', c2ip);
    assert.match(out, /1 packets received/);
    process.stdout.write(`      docker run --rm (h1) ... ping -c 1 to c2 on h2 answered: ${Date.now() - t0} ms\n`);
    // Still one GlobalSN on host 2: its plexus-docker mirrored nothing (several sync periods have passed).
    assert.deepEqual((await docker(1, 'network', 'ls', '--filter', 'driver=plexus', '--format', '{{.Name}}')).split('\n'), ['GlobalSN']);
  });

  it('network rm on host 2 deletes the Plexus network; nothing left in Plexus, OVS or either dockerd', async () => {
    await docker(1, 'rm', '-f', 'c2');
    await docker(1, 'network', 'rm', 'GlobalSN');
    assert.equal((await plexusd.api('GET', `/v1/networks/docker-${dockerId}`)).status, 404, driverLogs());
    assert.deepEqual((await plexusd.api<{ items: unknown[] }>('GET', '/v1/networks')).body.items, []);
    assert.deepEqual((await plexusd.api<{ items: unknown[] }>('GET', '/v1/endpoints')).body.items, []);
    for (const h of lab.hosts) assert.doesNotMatch((await h.ovs.vsctl('list-ports', 'br-int')).stdout, /^pxd/m, `ports left on ${h.id}`);
    for (const i of [0, 1]) assert.equal(await docker(i, 'network', 'ls', '--filter', 'driver=plexus', '--format', '{{.Name}}'), '');
    // Host 1 got no DeleteNetwork (libnetwork calls it where rm ran): its plexus-docker forgets the network by itself.
    await waitFor('plexus-docker state empty on both hosts', async () => hosts.every((h) => {
      const state = JSON.parse(readFileSync(join(h.dir, 'state', 'state.json'), 'utf8')) as Record<string, Record<string, unknown>>;
      return [state['networks'], state['endpoints'], state['reserved']].every((x) => Object.keys(x ?? {}).length === 0);
    }), 15_000);
  });
});
