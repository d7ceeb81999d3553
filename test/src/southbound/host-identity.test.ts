/**
 * Host identity is not taken on trust (issue 18 item 1), against sandboxed
 * Open vSwitch hosts and a real plexusd: a second Open vSwitch with a connected
 * host's system-id is refused (log, metric, the record's `conflict`) and changes
 * nothing on any host; a host renaming itself leaves no ghost record and no
 * record behind.
 */
import assert from 'node:assert/strict';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { watchFlowChanges } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

interface HostView {
  id: string;
  status: string;
  encapIp: string;
  ovsdbConnected: boolean;
  conflict?: string | null;
}

describe('host identity on sandboxed hosts @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];
  let impostor: OvsHost | undefined;
  let ep: { id: string; mac: string };

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 2; i++) {
      hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.4.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await waitFor('2 hosts ready', async () => (await listHosts()).filter((h) => h.status === 'ready').length === 2, 30_000);
    const n = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: 'IdNet' });
    assert.equal(n.status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.230.0/24' })).status, 201);
    const mk = async (name: string) => (await plexusd.api<{ id: string; mac: string }>('POST', '/v1/endpoints', { network: n.body.id, name })).body;
    ep = await mk('on-h1');
    const other = await mk('on-h2');
    await plug(hosts[0]!, 'p-on-h1', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await plug(hosts[1]!, 'p-on-h2', { 'iface-id': other.id, 'attached-mac': other.mac });
    await waitFor('both installed', async () => (await isInstalled(hosts[0]!, 'p-on-h1')) && (await isInstalled(hosts[1]!, 'p-on-h2')));
    const marked = async (h: OvsHost, p: string) => (await h.vsctl('get', 'Interface', p, 'external_ids')).stdout.includes('plexus-endpoint=');
    await waitFor('both written back', async () => (await marked(hosts[0]!, 'p-on-h1')) && (await marked(hosts[1]!, 'p-on-h2')));
  });

  after(async () => {
    await Promise.all([...hosts, ...(impostor ? [impostor] : [])].map((h) => h.stop()));
    await plexusd?.destroy();
  });

  async function listHosts(): Promise<HostView[]> {
    return (await plexusd.api<{ items: HostView[] }>('GET', '/v1/hosts')).body.items;
  }
  /** Every Interface row of the host's database (names, types, options, external_ids): what Plexus configured. */
  const interfaces = async (h: OvsHost) => (await h.vsctl('--format=json', '--columns=name,type,options,external_ids', 'list', 'Interface')).stdout;

  it('refuses a second Open vSwitch claiming a connected host\'s system-id; nothing changes anywhere', async () => {
    const watches = await Promise.all(hosts.map((h) => watchFlowChanges(h)));
    const interfacesBefore = await Promise.all(hosts.map(interfaces));
    impostor = await OvsHost.start({ name: 'imp', systemId: 'h1', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.4.9', 'plexus-bridge-datapath-type': 'dummy' } });
    await impostor.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`);
    await waitFor('conflict on the h1 record', async () => Boolean((await listHosts()).find((h) => h.id === 'h1')?.conflict), 15_000);
    const h1 = (await listHosts()).find((h) => h.id === 'h1')!;
    assert.match(h1.conflict!, /system-id "h1" is held by another Open vSwitch .* refused/);
    assert.deepEqual([h1.status, h1.encapIp, h1.ovsdbConnected], ['ready', '127.1.4.1', true]);
    assert.match(plexusd.logs, /host identity conflict: session refused/);
    const metrics = await fetch(`http://127.0.0.1:${plexusd.ports.api}/metrics`).then((r) => r.text());
    assert.match(metrics, /plexus_host_identity_conflicts_total\{host="h1"\} [1-9]/);

    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await Promise.all(watches.map((w) => w.stop())), [[], []], 'no flow changed on h1 or h2');
    assert.deepEqual(await Promise.all(hosts.map(interfaces)), interfacesBefore, 'no OVSDB change on h1 or h2');
    assert.equal((await impostor.vsctl('get-controller', 'br-int').catch(() => ({ stdout: '' }))).stdout.trim(), '', 'the impostor is not configured');
    const e = (await plexusd.api<{ host: string; status: string }>('GET', `/v1/endpoints/${ep.id}`)).body;
    assert.deepEqual([e.host, e.status], ['h1', 'installed']);

    // The impostor leaves: the conflict is cleared and the real h1 is untouched.
    await impostor.vsctl('del-manager');
    await waitFor('conflict cleared', async () => !(await listHosts()).find((h) => h.id === 'h1')?.conflict, 15_000);
    assert.equal((await listHosts()).find((h) => h.id === 'h1')!.status, 'ready');
  });

  it('moves the record of a host that renames itself, leaving no ghost record', async () => {
    const renames = 20;
    for (let i = 1; i <= renames; i++) {
      await hosts[1]!.vsctl('set', 'Open_vSwitch', '.', `external_ids:system-id=h2-r${i}`);
      await waitFor(`h2-r${i} ready`, async () => (await listHosts()).some((h) => h.id === `h2-r${i}` && h.status === 'ready'), 15_000);
    }
    await waitFor('only h1 and the last name', async () => (await listHosts()).map((h) => h.id).sort().join() === `h1,h2-r${renames}`, 15_000);
    assert.equal((await plexusd.api('DELETE', '/v1/hosts/h2')).status, 404, 'the first name is gone, not a connected ghost (409)');
  });
});
