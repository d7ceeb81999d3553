/**
 * TLS end to end (SPEC §11): HTTPS API with client certificates, and real
 * ovsdb-server/ovs-vswitchd joining over `ssl:` (ovs-vsctl set-ssl +
 * set-manager ssl:...) with certificates this test makes; a host whose
 * certificate another CA signed is refused. Prints the TLS cost it measures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { sleep, waitFor } from '../../../src/sandbox/processes';
import type { HostRecord } from '../../../src/store/model';
import { makePki, type Pki } from '../../support/certs';
import { isInstalled, plug } from '../../support/workloads';

const ROOT = join(__dirname, '..', '..', '..');

interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  agent?: Agent | false;
}

function httpsJson<T>(port: number, method: string, path: string, tls: ClientTls, body?: unknown): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, method, path, ...tls, agent: tls.agent ?? false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function plexusctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', require.resolve('tsx/cjs'), join(ROOT, 'src', 'cli', 'plexusctl.ts'), ...args], { cwd: ROOT, env: { ...process.env, PLEXUS_URL: '', PLEXUS_TOKEN: '', PLEXUS_CACERT: '' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Attaches `n` endpoints one at a time on `host`; returns ms from the OVSDB add-port to plexus-installed. */
async function attachTimes(api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: { id: string; mac: string } }>, host: OvsHost, network: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await api('POST', '/v1/endpoints', { network, name: `${host.name}-w${i}` });
    assert.equal(res.status, 201);
    const port = `${host.name}w${i}`;
    const t0 = Date.now();
    await plug(host, port, { 'iface-id': res.body.id, 'attached-mac': res.body.mac, container_id: port });
    await waitFor(`${port} installed`, () => isInstalled(host, port), 20_000, 5);
    times.push(Date.now() - t0);
  }
  return times;
}

describe('TLS: HTTPS API and ssl: for OVSDB and OpenFlow with real OVS @slow', function () {
  this.timeout(240_000);
  let pki: Pki;
  let p: PlexusdProcess;
  let ca1: { cert: string; key: string };
  let client: ClientTls;
  const hosts: OvsHost[] = [];

  before(async () => {
    pki = makePki();
    ca1 = await pki.ca('ca1');
    const server = await pki.leaf(ca1, 'plexusd', 'server');
    const api = await pki.leaf(ca1, 'operator', 'client');
    client = { ca: readFileSync(ca1.cert), cert: readFileSync(api.cert), key: readFileSync(api.key) };
    p = await PlexusdProcess.start({
      memberId: 'tls-1',
      extraArgs: ['--tls-cert', server.cert, '--tls-key', server.key, '--tls-ca', ca1.cert],
      readyProbe: async (q) => (await httpsJson(q.ports.api, 'GET', '/v1/ready', client)).status === 200,
    });
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await p?.destroy();
    pki?.remove();
  });

  it('serves the API over HTTPS to clients with a certificate the CA signed, and to nobody else', async () => {
    assert.equal((await httpsJson(p.ports.api, 'GET', '/v1/health', client)).status, 200);
    await assert.rejects(httpsJson(p.ports.api, 'GET', '/v1/health', { ca: client.ca }), 'no client certificate');
    await assert.rejects(httpsJson(p.ports.api, 'GET', '/v1/health', { cert: client.cert, key: client.key }), 'server not trusted without --cacert');
    await assert.rejects(fetch(`http://127.0.0.1:${p.ports.api}/v1/health`), 'plain HTTP');
    const url = `https://127.0.0.1:${p.ports.api}`;
    const ok = await plexusctl('--url', url, '--cacert', ca1.cert, '--cert', join(pki.dir, 'operator.pem'), '--key', join(pki.dir, 'operator-key.pem'), 'health', '-o', 'json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status, 'ok');
    const untrusted = await plexusctl('--url', url, 'health');
    assert.equal(untrusted.code, 3);
    assert.match(untrusted.stderr, /cannot reach plexusd at https:\/\/127\.0\.0\.1:\d+ .*--cacert/);
  });

  it('adopts a host over ssl: (set-ssl + set-manager ssl:), OpenFlow over ssl: too; refuses a host from another CA', async () => {
    const good = await OvsHost.start({ name: 'tlsh1', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.7.1', 'plexus-bridge-datapath-type': 'dummy' } });
    hosts.push(good);
    const hostCert = await pki.leaf(ca1, 'tlsh1', 'client');
    await good.vsctl('set-ssl', hostCert.key, hostCert.cert, ca1.cert);
    await good.vsctl('set-manager', `ssl:127.0.0.1:${p.ports.ovsdb}`);
    const rec = await waitFor('tlsh1 ready over ssl', async () => {
      const r = await httpsJson<{ items: HostRecord[] }>(p.ports.api, 'GET', '/v1/hosts', client);
      const h = r.body.items.find((x) => x.id === 'tlsh1');
      return h?.status === 'ready' ? h : undefined;
    }, 30_000, 100);
    assert.equal(rec.ovsdbConnected, true);
    assert.equal(rec.ofConnected, true);
    assert.equal((await good.vsctl('get-controller', 'br-int')).stdout.trim(), `ssl:127.0.0.1:${p.ports.openflow}`);

    const ca2 = await pki.ca('ca2');
    const rogue = await OvsHost.start({ name: 'tlsh2', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.7.2', 'plexus-bridge-datapath-type': 'dummy' } });
    hosts.push(rogue);
    const rogueCert = await pki.leaf(ca2, 'tlsh2', 'client');
    // It trusts our CA (so it would talk to us), but its own certificate comes from another CA.
    await rogue.vsctl('set-ssl', rogueCert.key, rogueCert.cert, ca1.cert);
    await rogue.vsctl('set-manager', `ssl:127.0.0.1:${p.ports.ovsdb}`);
    await waitFor('handshake refusal logged', () => /ovsdb TLS handshake failed/.test(p.logs), 15_000, 100);
    await sleep(1000);
    const all = await httpsJson<{ items: HostRecord[] }>(p.ports.api, 'GET', '/v1/hosts', client);
    assert.deepEqual(all.body.items.map((h) => h.id), ['tlsh1'], 'the host from another CA was adopted');
    assert.equal((await httpsJson(p.ports.api, 'GET', '/v1/health', client)).status, 200);
  });

  it('keeps instant crash detection between members over HTTPS: heartbeats present the member certificate', async () => {
    const [certA, certB] = [await pki.leaf(ca1, 'member-a', 'server'), await pki.leaf(ca1, 'member-b', 'server')];
    const tlsArgs = (c: { cert: string; key: string }): string[] => ['--tls-cert', c.cert, '--tls-key', c.key, '--tls-ca', ca1.cert, '--member-ttl', '30'];
    const ready = async (q: PlexusdProcess): Promise<boolean> => (await httpsJson(q.ports.api, 'GET', '/v1/ready', client)).status === 200;
    const a = await PlexusdProcess.start({ memberId: 'tls-a', advertise: '127.0.0.1', extraArgs: tlsArgs(certA), readyProbe: ready });
    let b: PlexusdProcess | undefined;
    try {
      b = await PlexusdProcess.start({ memberId: 'tls-b', advertise: '127.0.0.1', etcd: `http://127.0.0.1:${a.ports.etcdClient}`, extraArgs: tlsArgs(certB), readyProbe: ready });
      const members = async (): Promise<string[]> =>
        (await httpsJson<{ members: { id: string }[] }>(a.ports.api, 'GET', '/v1/cluster', client)).body.members.map((m) => m.id).sort();
      await waitFor('both members registered', async () => (await members()).join() === 'tls-a,tls-b', 20_000);
      await sleep(1500); // the heartbeats open
      const t0 = Date.now();
      await b.kill();
      // With a lease TTL of 30 s, only a heartbeat that broke on a refused port explains a quick exit from the list.
      await waitFor('tls-b gone from the cluster', async () => (await members()).join() === 'tls-a', 10_000, 50);
      console.log(`      member kill -9 noticed over HTTPS heartbeats in ${Date.now() - t0} ms (lease TTL 30 s)`);
    } finally {
      await b?.destroy();
      await a.destroy();
    }
  });

  it('measures the TLS cost: handshake per API request, and attach latency over ssl: vs tcp:', async () => {
    const N = 30;
    const fresh: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      await httpsJson(p.ports.api, 'GET', '/v1/health', client);
      fresh.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      await httpsJson(p.ports.api, 'GET', '/v1/health', { ...client, agent });
      reused.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    agent.destroy();

    const tlsApi = (method: string, path: string, body?: unknown) => httpsJson<{ id: string; mac: string }>(p.ports.api, method, path, client, body);
    assert.equal((await tlsApi('POST', '/v1/networks', { name: 'tlsnet' })).status, 201);
    assert.equal((await tlsApi('POST', '/v1/subnets', { network: 'tlsnet', cidr: '10.77.7.0/24' })).status, 201);
    const sslAttach = await attachTimes(tlsApi, hosts[0]!, 'tlsnet', 7);

    // The same over plain tcp:, on a plexusd without TLS.
    const plain = await PlexusdProcess.start({ memberId: 'plain-1' });
    const tcpHost = await OvsHost.start({ name: 'tcph1', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.7.3', 'plexus-bridge-datapath-type': 'dummy' } });
    try {
      await tcpHost.vsctl('set-manager', `tcp:127.0.0.1:${plain.ports.ovsdb}`);
      await waitFor('tcph1 ready', async () => (await plain.api<{ items: HostRecord[] }>('GET', '/v1/hosts')).body.items.some((h) => h.status === 'ready'), 30_000, 100);
      const plainApi = (method: string, path: string, body?: unknown) => plain.api<{ id: string; mac: string }>(method, path, body);
      assert.equal((await plainApi('POST', '/v1/networks', { name: 'tcpnet' })).status, 201);
      assert.equal((await plainApi('POST', '/v1/subnets', { network: 'tcpnet', cidr: '10.77.8.0/24' })).status, 201);
      const tcpAttach = await attachTimes(plainApi, tcpHost, 'tcpnet', 7);
      process.stdout.write(
        `      HTTPS API request: new connection (handshake) p50 ${median(fresh).toFixed(2)} ms, kept-alive p50 ${median(reused).toFixed(2)} ms\n` +
          `      attach → plexus-installed p50: ssl: ${median(sslAttach)} ms, tcp: ${median(tcpAttach)} ms (7 each, 5 ms polling)\n`,
      );
      assert.ok(sslAttach.every((t) => t < 20_000));
    } finally {
      await tcpHost.stop();
      await plain.destroy();
    }
  });
});
