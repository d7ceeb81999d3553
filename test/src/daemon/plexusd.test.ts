import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { TUNNEL_PORT } from '../../../src/southbound/host-plan';
import type { HostRecord } from '../../../src/store/model';

/** Sends raw bytes to a TCP port and waits for the peer to close or 500 ms. */
function sendGarbage(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const done = (): void => {
      s.destroy();
      resolve();
    };
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, 500);
  });
}

async function hosts(p: PlexusdProcess): Promise<Map<string, HostRecord>> {
  const res = await p.api<{ items: HostRecord[] }>('GET', '/v1/hosts');
  assert.equal(res.status, 200);
  return new Map(res.body.items.map((h) => [h.id, h]));
}

async function joinHost(h: OvsHost, p: PlexusdProcess): Promise<void> {
  await h.vsctl('set-manager', `tcp:127.0.0.1:${p.ports.ovsdb}`);
}

async function portsOf(h: OvsHost): Promise<Map<string, string>> {
  // name -> _uuid of every Interface, to prove a restart re-created nothing.
  const { stdout } = await h.vsctl('--format=csv', '--data=bare', '--no-headings', '--columns=name,_uuid', 'list', 'Interface');
  return new Map(stdout.trim().split('\n').filter(Boolean).map((l) => l.split(',') as [string, string]));
}

/** A host's br-int configuration as text (ports, interfaces and their settings; no counters), to show nobody touched it. */
async function configOf(h: OvsHost): Promise<string> {
  const list = async (table: string, columns: string): Promise<string> =>
    (await h.vsctl('--format=csv', '--data=bare', '--no-headings', `--columns=${columns}`, 'list', table)).stdout.trim().split('\n').sort().join('\n');
  return [await list('Interface', '_uuid,name,type,options,external_ids'), await list('Port', '_uuid,name,interfaces,external_ids'), await list('Bridge', '_uuid,ports,controller')].join('\n--\n');
}

describe('plexusd adopts hosts @slow', function () {
  this.timeout(120_000);
  let plexusd: PlexusdProcess;
  let h1: OvsHost;
  let h2: OvsHost;
  let h3: OvsHost | undefined;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    const ids = (n: number) => ({ 'plexus-encap-ip': `127.1.0.${n}`, 'plexus-bridge-datapath-type': 'dummy' });
    [h1, h2] = await Promise.all([
      OvsHost.start({ name: 'h1', dummy: true, externalIds: ids(1) }),
      OvsHost.start({ name: 'h2', dummy: true, externalIds: ids(2) }),
    ]);
  });

  after(async () => {
    await Promise.all([h1?.stop(), h2?.stop(), h3?.stop()]);
    await plexusd?.destroy();
  });

  it('learns both hosts and makes them ready: br-int secure, controller, one flow-based VXLAN port', async () => {
    const t0 = Date.now();
    await Promise.all([joinHost(h1, plexusd), joinHost(h2, plexusd)]);
    const all = await waitFor('both hosts ready', async () => {
      const m = await hosts(plexusd);
      return m.get('h1')?.status === 'ready' && m.get('h2')?.status === 'ready' ? m : undefined;
    }, 20_000);
    process.stdout.write(`      set-manager → both hosts ready: ${Date.now() - t0} ms\n`);
    for (const [id, n] of [['h1', 1], ['h2', 2]] as const) {
      const rec = all.get(id)!;
      assert.equal(rec.ovsdbConnected, true);
      assert.equal(rec.ofConnected, true);
      assert.equal(rec.encapIp, `127.1.0.${n}`);
      assert.equal(rec.master, 'm1');
      assert.match(rec.datapathId ?? '', /^[0-9a-f]{16}$/);
    }
    for (const [host, local] of [[h1, '127.1.0.1'], [h2, '127.1.0.2']] as const) {
      assert.equal((await host.vsctl('get', 'Bridge', 'br-int', 'fail_mode')).stdout.trim(), 'secure');
      assert.equal((await host.vsctl('get', 'Bridge', 'br-int', 'protocols')).stdout.trim(), '[OpenFlow13]');
      assert.equal((await host.vsctl('get-controller', 'br-int')).stdout.trim(), `tcp:127.0.0.1:${plexusd.ports.openflow}`);
      const port = TUNNEL_PORT;
      assert.equal((await host.vsctl('get', 'Interface', port, 'type')).stdout.trim(), 'vxlan');
      assert.equal((await host.vsctl('get', 'Interface', port, 'options:remote_ip')).stdout.trim(), 'flow');
      const vxlans = (await host.vsctl('--data=bare', '--no-headings', '--columns=name', 'find', 'Interface', 'type=vxlan')).stdout.trim().split('\n').filter(Boolean);
      assert.deepEqual(vxlans, [TUNNEL_PORT], 'one VXLAN port, whatever the number of hosts');
      assert.equal((await host.vsctl('get', 'Interface', port, 'options:local_ip')).stdout.trim(), `"${local}"`);
      assert.equal((await host.vsctl('get', 'Interface', port, 'options:key')).stdout.trim(), 'flow');
    }
  });

  it('stays healthy with both hosts connected after garbage on every port', async () => {
    await sendGarbage(plexusd.ports.openflow, Buffer.from('0400ffff00000001deadbeef'.repeat(40), 'hex'));
    await sendGarbage(plexusd.ports.openflow, Buffer.from('04000003', 'hex')); // length 3 < header
    await sendGarbage(plexusd.ports.ovsdb, Buffer.from('{"method":"echo","params":[],"id":1}}}}]]]not json'));
    await sendGarbage(plexusd.ports.ovsdb, Buffer.alloc(4096, 0xff));
    for (const body of ['{"broken', '[1,2', 'null']) {
      const res = await fetch(`${plexusd.url}/v1/hosts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
    const bad = await plexusd.api<{ status: number; detail: string }>('GET', '/v1/hosts?limit=abc');
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /limit/);
    const missing = await plexusd.api<{ status: number; detail: string }>('GET', '/v1/hosts/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /host "nope" does not exist/);
    assert.equal((await plexusd.api('GET', '/v1/health')).status, 200);
    const m = await hosts(plexusd);
    assert.equal(m.get('h1')?.status, 'ready');
    assert.equal(m.get('h2')?.status, 'ready');
    assert.equal(m.get('h1')?.ofConnected, true);
  });

  it('serves an OpenAPI document listing the host routes', async () => {
    const res = await plexusd.api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.body.openapi, /^3\./);
    for (const p of ['/v1/hosts', '/v1/hosts/{id}', '/v1/health', '/v1/ready']) assert.ok(p in res.body.paths, p);
  });

  it('exposes Prometheus metrics with the connected hosts', async () => {
    const res = await fetch(`${plexusd.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^plexus_hosts_connected 2$/m);
    assert.match(text, /^# TYPE plexus_attach_installed_seconds histogram$/m);
  });

  it('changes no other host\'s OVSDB when a host joins', async () => {
    const before = await configOf(h1);
    h3 = await OvsHost.start({ name: 'h3', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.0.3', 'plexus-bridge-datapath-type': 'dummy' } });
    await joinHost(h3, plexusd);
    await waitFor('h3 ready', async () => (await hosts(plexusd)).get('h3')?.status === 'ready', 20_000);
    assert.equal(await configOf(h1), before);
  });

  it('keeps a host that disconnects in the model, and decommissions it on delete, changing no other host\'s OVSDB', async () => {
    const before = await configOf(h1);
    await h2.stop();
    const rec = await waitFor('h2 disconnected', async () => {
      const h = (await hosts(plexusd)).get('h2');
      return h && !h.ovsdbConnected ? h : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; plexusd on h2:\n${plexusd.logs.split('\n').filter((l) => l.includes('h2')).slice(-12).join('\n')}`);
    });
    assert.equal(rec.status, 'disconnected');
    assert.equal(rec.encapIp, '127.1.0.2', 'its encap IP stays, so flows toward it stay');

    const del = await plexusd.api('DELETE', '/v1/hosts/h2');
    assert.equal(del.status, 204);
    assert.equal((await hosts(plexusd)).has('h2'), false);
    assert.equal((await plexusd.api('DELETE', '/v1/hosts/h2')).status, 404);
    assert.equal(await configOf(h1), before);
  });

  it('refuses to delete a host that is still connected', async () => {
    const res = await plexusd.api<{ detail: string }>('DELETE', '/v1/hosts/h1');
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /still connected/);
  });

  it('finds its state again after kill -9 and restart, changing nothing on the host', async () => {
    const before = await portsOf(h1);
    await plexusd.kill();
    await plexusd.launch();
    const h = await waitFor('h1 ready again', async () => {
      const r = (await hosts(plexusd)).get('h1');
      return r?.status === 'ready' && r.ovsdbConnected && r.ofConnected ? r : undefined;
    }, 30_000);
    assert.equal(h.encapIp, '127.1.0.1');
    assert.equal((await hosts(plexusd)).has('h2'), false);
    assert.deepEqual(await portsOf(h1), before);
  });
});
