/**
 * GET /v1/events on a real plexusd with a sandboxed host: a subscriber sees
 * every status change of an endpoint in order (bound, installed, down), and one
 * that disconnects and resumes with Last-Event-ID gets exactly the events a
 * subscriber that never left got after that id. An id older than the member's
 * ring gets `reset`.
 */
import assert from 'node:assert/strict';
import { ApiClient, type ServerEvent } from '../../../src/cli/client';
import { buildCli } from '../../../src/cli/plexusctl';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { plug } from '../../support/workloads';

interface Status {
  status: string;
}

/** Collects events of a stream in the background until aborted. */
function collect(client: ApiClient, query: string, lastEventId?: string): { events: ServerEvent[]; stop: () => void; done: Promise<void> } {
  const events: ServerEvent[] = [];
  const abort = new AbortController();
  const done = (async () => {
    for await (const e of client.events(query, { signal: abort.signal, ...(lastEventId ? { lastEventId } : {}) })) events.push(e);
  })().catch(() => undefined);
  return { events, stop: () => abort.abort(), done };
}

const statusesOf = (events: readonly ServerEvent[], id: string): string[] =>
  events.filter((e) => e.event === 'endpoint-status' && (e.data as { id: string }).id === id).map((e) => ((e.data as { value?: Status }).value?.status ?? 'deleted'));

describe('GET /v1/events @slow', function () {
  this.timeout(120_000);
  let plexusd: PlexusdProcess;
  let host: OvsHost;
  let client: ApiClient;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    client = new ApiClient({ url: plexusd.url });
    host = await OvsHost.start({ name: 'ev1', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.0.1', 'plexus-bridge-datapath-type': 'dummy' } });
    await host.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`);
    await waitFor('host ready', async () => (await plexusd.api<{ items: { status: string }[] }>('GET', '/v1/hosts')).body.items.some((h) => h.status === 'ready'), 30_000);
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'evnet' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'evnet', cidr: '10.5.0.0/24' })).status, 201);
  });
  after(async () => {
    await host?.stop();
    await plexusd?.destroy();
  });

  it('streams every status change of an endpoint in order, and resumes after a reconnect without losing one', async () => {
    const steady = collect(client, 'resources=endpoint,endpoint-status');
    const leaving = collect(client, 'resources=endpoint,endpoint-status');
    await new Promise((r) => setTimeout(r, 300));
    const ep = await client.call<{ id: string; mac: string }>('POST', 'v1/endpoints', { network: 'evnet', name: 'e1', kind: 'container' });
    await plug(host, 'p-e1', { 'iface-id': ep.id, 'attached-mac': ep.mac, container_id: 'e1' });
    await waitFor('bound seen', () => statusesOf(leaving.events, ep.id).length > 0);
    leaving.stop();
    await leaving.done;
    const lastId = leaving.events[leaving.events.length - 1]!.id!;
    await waitFor('installed seen', () => statusesOf(steady.events, ep.id).includes('installed'));
    await host.vsctl('del-port', 'br-int', 'p-e1');
    await waitFor('down seen', () => statusesOf(steady.events, ep.id).includes('down'));

    const resumed = collect(client, 'resources=endpoint,endpoint-status', lastId);
    const expected = steady.events.slice(steady.events.findIndex((e) => e.id === lastId) + 1);
    await waitFor('resumed caught up', () => resumed.events.length >= expected.length);
    resumed.stop();
    steady.stop();
    await Promise.all([resumed.done, steady.done]);

    assert.deepEqual(resumed.events.map((e) => e.id), expected.map((e) => e.id), 'the resumed stream has exactly what was missed');
    const all = statusesOf(steady.events, ep.id);
    assert.deepEqual(all.filter((s, i) => s !== all[i - 1]), ['bound', 'installed', 'down'], `statuses in order: ${all.join(' ')}`);
    assert.deepEqual([...statusesOf(leaving.events, ep.id), ...statusesOf(resumed.events, ep.id)], all);
    const ids = steady.events.map((e) => e.id!);
    assert.deepEqual([...ids].sort((a, b) => compareIds(a, b)), ids, 'ids grow');
    assert.equal(steady.events[0]!.event, 'endpoint', 'the create comes first');
  });

  it('plexusctl endpoint create --wait returns once installed; get endpoints --watch prints the changes', async () => {
    const watched: string[] = [];
    const watch = buildCli((t) => watched.push(t)).parseAsync(['--url', plexusd.url, 'get', 'endpoints', '--watch'], { from: 'user' }).catch(() => undefined);
    const out: string[] = [];
    const create = buildCli((t) => out.push(t)).parseAsync(['--url', plexusd.url, '-o', 'json', 'endpoint', 'create', '--network', 'evnet', '--id', 'e2', '--name', 'e2', '--mac', '02:aa:00:00:00:02', '--wait', '--timeout', '30'], { from: 'user' });
    await waitFor('e2 created', async () => (await plexusd.api('GET', '/v1/endpoints/e2')).status === 200);
    await plug(host, 'p-e2', { 'iface-id': 'e2', 'attached-mac': '02:aa:00:00:00:02', container_id: 'e2' });
    await create;
    assert.equal((JSON.parse(out.join('')) as { status: string }).status, 'installed');
    await waitFor('watch saw installed', () => watched.some((l) => /^STATUS\te2\te2\tinstalled\tev1$/.test(l)));
    assert.ok(watched.some((l) => /^CHANGED\te2\te2\t/.test(l)), watched.join('\n'));
    void watch; // the watch ends with the daemon in after()
    const metrics = await (await fetch(`${plexusd.url}/metrics`)).text();
    assert.match(metrics, /^plexus_attach_installed_seconds_count\{host="ev1"\} [1-9]/m);
    assert.match(metrics, /^plexus_host_flows_desired\{host="ev1"\} [1-9]/m);
  });

  it('answers reset when the events asked for are no longer held', async () => {
    const s = collect(client, '', '0');
    await waitFor('reset', () => s.events.length > 0);
    s.stop();
    await s.done;
    assert.equal(s.events[0]!.event, 'reset');
    assert.match((s.events[0]!.data as { reason: string }).reason, /no longer held/);
  });
});

function compareIds(a: string, b: string): number {
  const [ra, ia] = a.split('.').map(BigInt) as [bigint, bigint];
  const [rb, ib] = b.split('.').map(BigInt) as [bigint, bigint];
  return ra !== rb ? (ra < rb ? -1 : 1) : ia < ib ? -1 : ia > ib ? 1 : 0;
}
