import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as plexusctl } from '../../../src/cli/plexusctl';
import { endpointIdFor } from '../../../src/integrations/cni/commands';
import { linkNamesFor } from '../../../src/integrations/ovs-port';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { addNetns, deleteNetns, ip, nsRun } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { PodmanSandbox } from '../../../src/sandbox/podman';
import { run, waitFor } from '../../../src/sandbox/processes';

interface CniOut {
  code: number | null;
  json: Record<string, unknown> | undefined;
  ms: number;
  raw: string;
}

/**
 * plexus-cni (SPEC §7) against a real Plexus and real OVS hosts: podman (CNI
 * backend) runs containers through it, and the plugin binary is also driven
 * the way the CNI spec defines (CNI_* environment, configuration on stdin) for
 * the commands podman 4.3 does not issue (CHECK, GC, STATUS).
 */
describe('plexus-cni with podman and the CNI protocol @slow', function () {
  this.timeout(240_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  let podman: PodmanSandbox;
  let dir: string;
  let plugin: string;
  let conflist: Record<string, unknown>;
  let peer: Workload;
  const netnsCreated: string[] = [];
  const tag = randomBytes(3).toString('hex');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-cni-test-'));
    // The plugin reaches plexusd from the host's namespace, not over loopback: the API needs a token (SPEC §6).
    ({ lab, plexusd } = await startLabWithPlexusd({ plexusd: { adminToken: true } }));
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'DockerSN' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'DockerSN', cidr: '192.168.200.0/24', dnsServers: ['192.168.200.53'] })).status, 201);
    peer = await lab.addWorkload(2, { name: 'peer', kind: 'container', ifaceId: `peer-${tag}`, ip: '192.168.200.250/24', network: 'DockerSN' });
    await waitFor('peer installed', async () => (await peer.host.ovs.vsctl('get', 'Interface', peer.port, 'external_ids')).stdout.includes('plexus-installed="true"'), 20_000);

    const url = `http://${lab.controllerAddress}:${plexusd.ports.api}`;
    const h1 = lab.host(1);
    const code = await plexusctl(['--url', url, 'install', 'cni', '--dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d'),
      '--network', 'DockerSN', '--ovsdb', `unix:${h1.ovs.dbSock}`, '--token-file', plexusd.tokenFile!]);
    assert.equal(code, 0);
    plugin = join(dir, 'bin', 'plexus-cni');
    conflist = JSON.parse(readFileSync(join(dir, 'net.d', '50-DockerSN.conflist'), 'utf8')) as Record<string, unknown>;
    assert.equal((conflist['plugins'] as Record<string, unknown>[])[0]!['tokenFile'], plexusd.tokenFile);
    podman = await PodmanSandbox.create({ netns: h1.netns, cniPluginDirs: [join(dir, 'bin')], cniConfigDir: join(dir, 'net.d') });
  });

  after(async () => {
    await podman?.destroy();
    for (const ns of netnsCreated) await deleteNetns(ns);
    await lab?.stop();
    await plexusd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The plugin configuration a runtime derives from the conflist (name and cniVersion copied in). */
  function pluginConfig(extra: Record<string, unknown> = {}, version = '1.1.0'): Record<string, unknown> {
    const p = (conflist['plugins'] as Record<string, unknown>[])[0]!;
    return { cniVersion: version, name: conflist['name'], ...p, ...extra };
  }

  async function cni(command: string, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<CniOut> {
    const t0 = Date.now();
    const r = await run('nsenter', [`--net=/run/netns/${lab.host(1).netns}`, plugin], {
      env: { ...process.env, CNI_COMMAND: command, CNI_PATH: join(dir, 'bin'), ...env },
      input: JSON.stringify(config),
      allowFail: true,
      timeoutMs: 60_000,
    });
    const text = r.stdout.trim();
    return { code: r.code, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, ms: Date.now() - t0, raw: text + r.stderr };
  }

  async function newNetns(): Promise<string> {
    const ns = `pxcni${tag}${netnsCreated.length}`;
    netnsCreated.push(ns);
    await addNetns(ns);
    return ns;
  }

  const h1Ids = async (port: string): Promise<string> => (await lab.host(1).ovs.vsctl('--if-exists', 'get', 'Interface', port, 'external_ids')).stdout;

  it('answers VERSION with 1.0.0 and 1.1.0', async () => {
    const r = await cni('VERSION', { cniVersion: '1.0.0' });
    assert.equal(r.code, 0, r.raw);
    assert.deepEqual((r.json!['supportedVersions'] as string[]).filter((v) => v.startsWith('1.')), ['1.0.0', '1.1.0']);
  });

  it('podman runs a container on host 1 that pings a workload on host 2; removing it leaves nothing behind', async () => {
    const t0 = Date.now();
    const r = await podman.runOnce('DockerSN', ['ping', '-c', '3', '-W', '2', peer.ip!]);
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 (packets )?received/);
    process.stdout.write(`      podman run --rm ... ping x3 across hosts: ${ms} ms in all\n`);
    // --rm ran CNI DEL: no plexus-cni endpoint and no port left.
    const eps = (await plexusd.api<{ items: { id: string }[] }>('GET', '/v1/endpoints?network=DockerSN')).body.items;
    assert.deepEqual(eps.filter((e) => e.id.startsWith('cni-')), []);
    const ports = (await lab.host(1).ovs.vsctl('list-ports', 'br-int')).stdout;
    assert.doesNotMatch(ports, /^cni/m);
  });

  it('ADD returns interfaces, ips with gateway, routes and dns, once plexus-installed; CHECK passes and catches a lost address', async () => {
    const ns = await newNetns();
    const env = { CNI_CONTAINERID: `ctr-${tag}-a`, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' };
    // A fixed address (runtimeConfig "ips" capability): the one IPAM would pick next is
    // the podman container's of a moment ago, and the peer's kernel still holds that
    // container's MAC for it (REACHABLE for up to ~45 s; Plexus answers ARP in-switch,
    // so no ARP of the new owner ever reaches the peer).
    const add = await cni('ADD', pluginConfig({ runtimeConfig: { ips: ['192.168.200.77/24'] } }), env);
    assert.equal(add.code, 0, add.raw);
    process.stdout.write(`      CNI ADD (process start to result, plexus-installed included): ${add.ms} ms\n`);
    const res = add.json! as { cniVersion: string; interfaces: { name: string; mac: string; sandbox?: string; mtu?: number }[]; ips: { address: string; gateway: string; interface: number }[]; routes: { dst: string; gw: string }[]; dns: { nameservers: string[] } };
    assert.equal(res.cniVersion, '1.1.0');
    const id = endpointIdFor('DockerSN', env.CNI_CONTAINERID, 'eth0');
    const names = linkNamesFor('cni', id);
    assert.equal(res.interfaces[0]!.name, names.host);
    assert.deepEqual({ name: res.interfaces[1]!.name, sandbox: res.interfaces[1]!.sandbox, mtu: res.interfaces[1]!.mtu }, { name: 'eth0', sandbox: env.CNI_NETNS, mtu: 1450 });
    assert.equal(res.ips[0]!.address, '192.168.200.77/24');
    assert.equal(res.ips[0]!.gateway, '192.168.200.1');
    assert.equal(res.ips[0]!.interface, 1);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '192.168.200.1' }]);
    assert.deepEqual(res.dns.nameservers, ['192.168.200.53']);
    // Plexus sees it installed, OVS carries the marks, the namespace has the address and MAC.
    const ep = (await plexusd.api<{ status: string; mac: string; ips: string[]; host: string }>('GET', `/v1/endpoints/${id}`)).body;
    assert.equal(ep.status, 'installed');
    assert.equal(ep.host, 'h1');
    assert.equal(res.interfaces[1]!.mac, ep.mac);
    assert.match(await h1Ids(names.host), /plexus-installed="true"/);
    const ping = await nsRun(ns, 'ping', ['-c', '2', '-w', '5', peer.ip!], { allowFail: true });
    assert.match(ping.stdout, /2 received/, ping.stdout + ping.stderr);

    const check = await cni('CHECK', pluginConfig({ prevResult: res }), env);
    assert.equal(check.code, 0, check.raw);
    await ip(ns, 'addr', 'del', res.ips[0]!.address, 'dev', 'eth0');
    const bad = await cni('CHECK', pluginConfig({ prevResult: res }), env);
    assert.equal(bad.code, 1);
    assert.equal(bad.json!['code'], 100);
    assert.match(String(bad.json!['msg']), new RegExp(`eth0 lacks ${ep.ips[0]!.replace(/\./g, '\\.')}`));

    const del = await cni('DEL', pluginConfig({ prevResult: res }), env);
    assert.equal(del.code, 0, del.raw);
    assert.equal((await plexusd.api('GET', `/v1/endpoints/${id}`)).status, 404);
    assert.equal(await h1Ids(names.host), '');
    // DEL is idempotent, also without the namespace.
    const again = await cni('DEL', pluginConfig(), { ...env, CNI_NETNS: '' });
    assert.equal(again.code, 0, again.raw);
  });

  it('GC removes this host\'s attachments the runtime no longer lists and keeps the valid ones', async () => {
    const a = { CNI_CONTAINERID: `ctr-${tag}-gc1`, CNI_NETNS: `/run/netns/${await newNetns()}`, CNI_IFNAME: 'eth0' };
    const b = { CNI_CONTAINERID: `ctr-${tag}-gc2`, CNI_NETNS: `/run/netns/${await newNetns()}`, CNI_IFNAME: 'eth0' };
    for (const env of [a, b]) assert.equal((await cni('ADD', pluginConfig(), env)).code, 0);
    const gc = await cni('GC', pluginConfig({ 'cni.dev/valid-attachments': [{ containerID: a.CNI_CONTAINERID, ifname: 'eth0' }] }));
    assert.equal(gc.code, 0, gc.raw);
    const idA = endpointIdFor('DockerSN', a.CNI_CONTAINERID, 'eth0');
    const idB = endpointIdFor('DockerSN', b.CNI_CONTAINERID, 'eth0');
    assert.equal((await plexusd.api('GET', `/v1/endpoints/${idA}`)).status, 200);
    assert.equal((await plexusd.api('GET', `/v1/endpoints/${idB}`)).status, 404);
    assert.match(await h1Ids(linkNamesFor('cni', idA).host), /iface-id/);
    assert.equal(await h1Ids(linkNamesFor('cni', idB).host), '');
    // The workload on host 2 is no plexus-cni attachment of host 1: GC left it alone.
    assert.equal((await plexusd.api('GET', `/v1/endpoints/peer-${tag}`)).status, 200);
    assert.equal((await cni('DEL', pluginConfig(), a)).code, 0);
  });

  it('STATUS is fine while Plexus answers; an unreachable Plexus is code 50 for STATUS and 11 for ADD', async () => {
    const ok = await cni('STATUS', pluginConfig());
    assert.equal(ok.code, 0, ok.raw);
    const down = pluginConfig({ plexusUrl: 'http://127.0.0.1:9' });
    const status = await cni('STATUS', down);
    assert.equal(status.json!['code'], 50);
    const env = { CNI_CONTAINERID: `ctr-${tag}-down`, CNI_NETNS: `/run/netns/${await newNetns()}`, CNI_IFNAME: 'eth0' };
    const add = await cni('ADD', down, env);
    assert.equal(add.code, 1);
    assert.equal(add.json!['code'], 11);
    assert.match(String(add.json!['msg']), /unreachable/);
  });

  it('refuses an unknown network and a taken address with a message saying so', async () => {
    const env = { CNI_CONTAINERID: `ctr-${tag}-bad`, CNI_NETNS: `/run/netns/${await newNetns()}`, CNI_IFNAME: 'eth0' };
    const unknown = await cni('ADD', pluginConfig({ network: 'NoSuchNet' }), env);
    assert.equal(unknown.json!['code'], 101);
    assert.match(String(unknown.json!['msg']), /no network "NoSuchNet"/);
    const taken = await cni('ADD', pluginConfig({ runtimeConfig: { ips: ['192.168.200.250/24'] } }), env);
    assert.equal(taken.json!['code'], 101, taken.raw);
    assert.match(String(taken.json!['msg']), /192\.168\.200\.250/);
    // Nothing half-made stays behind.
    const id = endpointIdFor('DockerSN', env.CNI_CONTAINERID, 'eth0');
    assert.equal((await plexusd.api('GET', `/v1/endpoints/${id}`)).status, 404);
    assert.equal(await h1Ids(linkNamesFor('cni', id).host), '');
  });

  it('rejects a configuration of an unsupported version with code 1 and a bad one with 7', async () => {
    const env = { CNI_CONTAINERID: `ctr-${tag}-v`, CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' };
    assert.equal((await cni('ADD', pluginConfig({}, '0.3.1'), env)).json!['code'], 1);
    assert.equal((await cni('ADD', pluginConfig({ plexusUrl: 'not a url' }), env)).json!['code'], 7);
  });
});
