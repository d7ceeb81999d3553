import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerHost } from '../../../src/sandbox/docker-host';
import type { Dockerd } from '../../../src/sandbox/dockerd';
import type { Lab } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { run, waitFor } from '../../../src/sandbox/processes';

interface Ep {
  id: string;
  name: string;
  status: string;
  host: string;
  ips: string[];
}

/**
 * plexus-docker (SPEC §7) with real dockerd: one dockerd and one plexus-docker
 * per lab host (each in that host's network namespace), `docker network create`
 * on host 1, `docker run` on both hosts, real pings across the VXLAN overlay,
 * then everything removed through Docker and nothing left in Plexus or OVS.
 */
describe('plexus-docker with real dockerd on two hosts @slow', function () {
  this.timeout(300_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  const hosts: DockerHost[] = [];
  const dockerd: Dockerd[] = [];
  let image: string;
  /** Each host's br-int flows before any network existed. */
  let flowsBefore: string[][];

  before(async () => {
    // plexus-docker reaches plexusd from the host's namespace, not over loopback: the API needs a token (SPEC §6).
    ({ lab, plexusd } = await startLabWithPlexusd({ plexusd: { adminToken: true } }));
    flowsBefore = await Promise.all(lab.hosts.map((h) => h.ovs.dumpFlows()));
    for (const h of lab.hosts) {
      hosts.push(await DockerHost.start({ host: h, plexusUrl: `http://${lab.controllerAddress}:${plexusd.ports.api}`, tokenFile: plexusd.tokenFile!, logLevel: 'debug' }));
    }
    image = hosts[0]!.image;
    dockerd.push(...hosts.map((x) => x.dockerd));
  });

  after(async () => {
    for (const h of hosts) await h.stop();
    await lab?.stop();
    await plexusd?.destroy();
  });

  const driverLogs = (): string => hosts.map((h) => `--- plexus-docker ${h.host.id}\n${h.driverLogs.slice(-3000)}`).join('\n');

  async function docker(i: number, ...args: string[]): Promise<string> {
    const r = await dockerd[i]!.docker(args, { allowFail: true, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} on h${i + 1}: ${r.stderr}\n${driverLogs()}`);
    return r.stdout.trim();
  }

  it('network create on host 1 is a Plexus network and subnet, and shows up in host 2\'s dockerd', async () => {
    await docker(0, 'network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', '--subnet', '192.168.200.0/24', 'DockerSN');
    const net = await waitFor('Plexus network named DockerSN', async () => {
      const r = await plexusd.api<{ id: string; name: string }>('GET', '/v1/networks/DockerSN');
      return r.status === 200 ? r.body : undefined;
    }, 15_000);
    const subnets = (await plexusd.api<{ items: { cidr: string; gateway: string }[] }>('GET', `/v1/subnets?network=${net.id}`)).body.items;
    assert.deepEqual(subnets.map((s) => [s.cidr, s.gateway]), [['192.168.200.0/24', '192.168.200.1']]);
    await waitFor('DockerSN in host 2\'s dockerd', async () => (await dockerd[1]!.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).stdout.includes('DockerSN plexus'), 15_000);
  });

  it('docker run on both hosts: the containers get Plexus addresses, are installed, and ping each other across hosts', async () => {
    await docker(1, 'run', '-d', '--name', 'c2', '--net', 'DockerSN', image, 'sleep', '600');
    const c2ip = await docker(1, 'inspect', '-f', '{{(index .NetworkSettings.Networks "DockerSN").IPAddress}}', 'c2');
    assert.match(c2ip, /^192\.168\.200\.\d+$/);
    const eps = (await plexusd.api<{ items: Ep[] }>('GET', '/v1/endpoints?network=DockerSN')).body.items;
    const e2 = eps.find((e) => e.ips.includes(c2ip));
    assert.ok(e2, `a Plexus endpoint holds ${c2ip}: ${JSON.stringify(eps)}`);
    assert.equal(e2.status, 'installed');
    assert.equal(e2.host, 'h2');
    const ports2 = (await lab.host(2).ovs.vsctl('list-ports', 'br-int')).stdout;
    assert.match(ports2, /^pxd/m);

    const t0 = Date.now();
    const out = await docker(0, 'run', '--rm', '--net', 'DockerSN', image, 'ping', '-c', '3', '-W', '2', c2ip);
    const ms = Date.now() - t0;
    assert.match(out, /3 packets transmitted, 3 (packets )?received/);
    const t1 = Date.now();
    // A fresh address (--ip): the one IPAM would hand out again is the container's of a
    // moment ago, and c2's kernel holds that container's MAC for it for up to ~45 s.
    const once = await docker(0, 'run', '--rm', '--net', 'DockerSN', '--ip', '192.168.200.50', image, 'ping', '-c', '1', '-W', '2', c2ip);
    assert.match(once, /1 packets received/);
    process.stdout.write(`      docker run --rm (h1) ... ping -c 1 to c2 on h2 answered: ${Date.now() - t1} ms; with ping x3: ${ms} ms\n`);
  });

  it('refuses what Plexus refuses, with a message the user can act on', async () => {
    const taken = '192.168.200.99';
    const holder = await plexusd.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', name: 'holder', ips: [taken] });
    assert.equal(holder.status, 201);
    const r = await dockerd[0]!.docker(['run', '--rm', '--net', 'DockerSN', '--ip', taken, image, 'true'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`plexus: cannot reserve an address.*${taken.replace(/\./g, '\\.')}`), driverLogs());
    const noSubnet = await dockerd[0]!.docker(['network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', 'NoSubnet'], { allowFail: true });
    assert.notEqual(noSubnet.code, 0);
    assert.match(noSubnet.stderr, /plexus IPAM needs --subnet/);
    assert.equal((await plexusd.api('DELETE', `/v1/endpoints/${holder.body.id}`)).status, 204);
  });

  it('network options, network labels and endpoint driver options select the security groups of the endpoint (policy on attach)', async () => {
    // Plexus refuses an endpoint naming a security group that does not exist: create the ones the options name.
    // Endpoints list their groups by id.
    const sg: Record<string, string> = {};
    for (const name of ['web', 'ssh', 'labelled', 'db']) {
      const r = await plexusd.api<{ id: string }>('POST', '/v1/security-groups', { name });
      assert.equal(r.status, 201);
      sg[name] = r.body.id;
    }
    await docker(0, 'network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', '--subnet', '192.168.201.0/24', '-o', 'plexus.security-groups=web,ssh', 'Tiered');
    await docker(0, 'network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', '--subnet', '192.168.202.0/24', '--label', 'plexus.security-groups=labelled', 'Labelled');
    await docker(0, 'run', '-d', '--name', 'l1', '--net', 'Labelled', image, 'sleep', '600');
    const lip = await docker(0, 'inspect', '-f', '{{(index .NetworkSettings.Networks "Labelled").IPAddress}}', 'l1');
    const leps = (await plexusd.api<{ items: (Ep & { securityGroups: string[] })[] }>('GET', '/v1/endpoints?network=Labelled')).body.items;
    assert.deepEqual(leps.find((e) => e.ips.includes(lip))?.securityGroups, [sg['labelled']]);
    await docker(0, 'rm', '-f', 'l1');
    await docker(0, 'network', 'rm', 'Labelled');
    await docker(0, 'run', '-d', '--name', 't1', '--net', 'Tiered', image, 'sleep', '600');
    await docker(0, 'create', '--name', 't2', '--net', 'none', image, 'sleep', '600');
    await docker(0, 'network', 'disconnect', 'none', 't2');
    await docker(0, 'network', 'connect', '--driver-opt', 'plexus.security-groups=db', 'Tiered', 't2');
    await docker(0, 'start', 't2');
    const eps = (await plexusd.api<{ items: (Ep & { securityGroups: string[] })[] }>('GET', '/v1/endpoints?network=Tiered')).body.items;
    const ip1 = await docker(0, 'inspect', '-f', '{{(index .NetworkSettings.Networks "Tiered").IPAddress}}', 't1');
    const ip2 = await docker(0, 'inspect', '-f', '{{(index .NetworkSettings.Networks "Tiered").IPAddress}}', 't2');
    assert.deepEqual(eps.find((e) => e.ips.includes(ip1))?.securityGroups, [sg['web'], sg['ssh']]);
    assert.deepEqual(eps.find((e) => e.ips.includes(ip2))?.securityGroups, [sg['db']]);
    await docker(0, 'rm', '-f', 't1', 't2');
    await docker(0, 'network', 'rm', 'Tiered');
  });

  it('stop and network rm leave nothing behind in Plexus, OVS or the other dockerd', async () => {
    await docker(1, 'rm', '-f', 'c2');
    await docker(0, 'network', 'rm', 'DockerSN');
    assert.equal((await plexusd.api('GET', '/v1/networks/DockerSN')).status, 404);
    const networks = (await plexusd.api<{ items: { name: string }[] }>('GET', '/v1/networks')).body.items;
    assert.deepEqual(networks.map((n) => n.name), []);
    assert.deepEqual((await plexusd.api<{ items: unknown[] }>('GET', '/v1/endpoints')).body.items, []);
    for (const h of lab.hosts) {
      assert.doesNotMatch((await h.ovs.vsctl('list-ports', 'br-int')).stdout, /^pxd/m, `ports left on ${h.id}`);
      assert.doesNotMatch((await run('ip', ['-n', h.netns, '-o', 'link'])).stdout, /: pxd/, `veths left on ${h.id}`);
    }
    await waitFor('host 2\'s mirror removed', async () => !(await dockerd[1]!.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.includes('DockerSN'), 15_000);
    // Every flow the networks and containers brought is gone again (the security groups, with no member, bring none).
    await waitFor('br-int flows as before the first network', async () => {
      const now = await Promise.all(lab.hosts.map((h) => h.ovs.dumpFlows()));
      return now.every((f, i) => JSON.stringify(f) === JSON.stringify(flowsBefore[i]));
    }, 15_000).catch(async (err: Error) => {
      const now = await Promise.all(lab.hosts.map((h) => h.ovs.dumpFlows()));
      throw new Error(`${err.message}: left ${JSON.stringify(now.map((f, i) => f.filter((x) => !flowsBefore[i]!.includes(x))))}`);
    });
    // Host 2 drops its mirror's state when its next sync pass removes the mirror: wait for every state to empty.
    for (const h of hosts) {
      const left = (): unknown[] => {
        const state = JSON.parse(readFileSync(join(h.dir, 'state', 'state.json'), 'utf8')) as Record<string, Record<string, unknown>>;
        return [state['networks'], state['endpoints'], state['reserved']];
      };
      await waitFor(`plexus-docker state on ${h.host.id} empty`, async () => JSON.stringify(left()) === '[{},{},{}]', 10_000).catch((err: Error) => {
        throw new Error(`${err.message}: left ${JSON.stringify(left())}\n${driverLogs()}`);
      });
    }
  });
});
