/**
 * The web view (/ui) in a real headless Chromium against a real plexusd with
 * two sandboxed OVS hosts and bearer tokens: the page shows the hosts and
 * endpoints the API lists (after the user enters the token), an endpoint
 * attached during the test appears without a reload (also one attached while
 * the browser's connections are cut: the stream resumes with Last-Event-ID),
 * its drill-down shows the flows the API reports, and a trace draws the hop
 * path the API computes. Tunnels are drawn between the hosts that share a
 * network (a third host with only another network has none until an endpoint
 * of the shared network attaches there), and the drill-down shows the
 * effective security rules and the QoS in force.
 * A tenant token sees its own endpoints and no hosts. Screenshots go to
 * test-artifacts/ui/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { buildUi } from '../../../scripts/build-ui';
import { hashToken } from '../../../src/api/auth';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { isInstalled, plug } from '../../support/workloads';

const ROOT = join(__dirname, '..', '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');
const TOKEN = 'tok-ui-admin-0123456789';
const TENANT_TOKEN = 'tok-ui-tenant-0123456789';
/** The loaded machine runs several suites at once: page waits are generous. */
const PAGE_WAIT_MS = 60_000;

interface Created {
  id: string;
  name: string;
  mac: string;
  ips: string[];
}

/**
 * A loopback TCP forwarder between the browser and plexusd that can cut every
 * connection and refuse new ones for a while: a real network drop as the page sees it.
 */
interface Cutter {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startCutter(targetPort: number): Promise<Cutter> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      refusing = true;
      cut();
    },
    restore: () => {
      refusing = false;
    },
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function chromiumPath(): string {
  // Debian's /usr/bin/chromium is a shell wrapper that execs this binary.
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium']) if (existsSync(p)) return p;
  throw new Error('chromium is not installed (bash scripts/setup.sh installs it)');
}

describe('web view in headless Chromium @slow', function () {
  this.timeout(300_000);
  let plexusd: PlexusdProcess;
  let dir: string;
  let profileDir: string;
  let browser: Browser | undefined;
  let page: Page;
  let cutter: Cutter | undefined;
  const hosts = new Map<string, OvsHost>();
  const eps = new Map<string, Created>();

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${plexusd.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function attach(name: string, host: string, network = 'uiweb'): Promise<Created> {
    const res = await call<Created>('POST', '/v1/endpoints', { network, name, kind: 'container' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    eps.set(name, res.body);
    await plug(hosts.get(host)!, `p-${name}`, { 'iface-id': res.body.id, 'attached-mac': res.body.mac, container_id: name });
    return res.body;
  }

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  before(async () => {
    await buildUi(ROOT);
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'plexus-ui-'));
    profileDir = mkdtempSync(join(tmpdir(), 'plexus-ui-chromium-'));
    const config = join(dir, 'plexus.yaml');
    writeFileSync(config, `api-tokens:\n  - { name: ops, admin: true, sha256: ${hashToken(TOKEN)} }\n  - { name: uit-ci, tenant: uit, sha256: ${hashToken(TENANT_TOKEN)} }\n`);
    plexusd = await PlexusdProcess.start({ memberId: 'ui-1', extraArgs: ['--config', config] });
    for (const [name, ip] of [['uia', '127.1.6.1'], ['uib', '127.1.6.2'], ['uic', '127.1.6.3']] as const) {
      hosts.set(name, await OvsHost.start({ name, dummy: true, externalIds: { 'plexus-encap-ip': ip, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all([...hosts.values()].map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await waitFor('3 hosts ready', async () => (await call<{ items: { status: string }[] }>('GET', '/v1/hosts')).body.items.filter((h) => h.status === 'ready').length === 3, 60_000);
    for (const [network, cidr] of [['uiweb', '10.6.0.0/24'], ['uiother', '10.8.0.0/24']] as const) {
      assert.equal((await call('POST', '/v1/networks', { name: network })).status, 201);
      assert.equal((await call('POST', '/v1/subnets', { network, cidr })).status, 201);
    }
    await attach('web1', 'uia');
    await attach('db1', 'uib');
    await attach('solo1', 'uic', 'uiother');
    for (const [name, host] of [['web1', 'uia'], ['db1', 'uib'], ['solo1', 'uic']] as const) await waitFor(`${name} installed`, () => isInstalled(hosts.get(host)!, `p-${name}`), 60_000);

    cutter = await startCutter(plexusd.ports.api);
    browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      userDataDir: profileDir,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
      protocolTimeout: 120_000,
      timeout: 120_000,
    });
    page = await browser.newPage();
    page.setDefaultTimeout(PAGE_WAIT_MS);
    await page.setViewport({ width: 1400, height: 900 });
  });

  after(async () => {
    const pid = browser?.process()?.pid;
    await browser?.close().catch(() => undefined);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await cutter?.close();
    await Promise.all([...hosts.values()].map((h) => h.stop()));
    await plexusd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads without a token, then with the one entered shows the hosts and endpoints the API lists', async () => {
    const res = await page.goto(`http://127.0.0.1:${cutter!.port}/ui`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    // The page loads without a token; its API calls are refused until one is entered.
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.$eval('#error', (e) => e.textContent ?? ''), /token|authoriz/i);
    await page.type('#token', TOKEN);
    await page.click('#token-form button');

    const apiHosts = (await call<{ items: { id: string; status: string }[] }>('GET', '/v1/hosts')).body.items;
    const apiEps = (await call<{ items: { id: string; status: string; host: string }[] }>('GET', '/v1/endpoints')).body.items;
    await page.waitForFunction(`document.querySelectorAll('#topology [data-host]').length === ${apiHosts.length}`);
    await page.waitForFunction(`document.querySelectorAll('#topology [data-endpoint]').length === ${apiEps.length}`);
    await page.waitForSelector('#live[data-state="live"]');
    const shownHosts = await page.$$eval('#topology [data-host]', (els) => els.map((e) => `${e.getAttribute('data-host')}:${e.getAttribute('data-status')}`));
    assert.deepEqual(shownHosts.sort(), apiHosts.map((h) => `${h.id}:${h.status}`).sort());
    const shownEps = await page.$$eval('#topology [data-endpoint]', (els) => els.map((e) => `${e.getAttribute('data-endpoint')}:${e.getAttribute('data-status')}:${e.closest('[data-host]')?.getAttribute('data-host')}`));
    assert.deepEqual(shownEps.sort(), apiEps.map((e) => `${e.id}:${e.status}:${e.host}`).sort());
    const tunnels = await page.$$eval('#topology [data-tunnel]', (els) => els.map((e) => `${e.getAttribute('data-tunnel')}:${e.getAttribute('data-networks')}`));
    assert.deepEqual(tunnels, ['uia~uib:uiweb'], 'one tunnel, between the two hosts sharing uiweb; none to uic (only uiother there)');
    assert.equal(await page.evaluate("sessionStorage.getItem('plexus-token')"), TOKEN, 'the token is kept for the session');
    await screenshot('1-topology');
  });

  it('shows an endpoint attached during the test without a reload', async () => {
    await page.evaluate('window.notReloaded = true');
    const ep = await attach('api1', 'uia');
    await page.waitForSelector(`#topology [data-host="uia"] [data-endpoint="${ep.id}"]`);
    await page.waitForSelector(`#topology [data-endpoint="${ep.id}"][data-status="installed"]`);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    await screenshot('2-attached-live');
  });

  it('resumes the event stream after a drop with Last-Event-ID and gets what it missed', async () => {
    cutter!.cut();
    let ep: Created;
    let before: string | null;
    try {
      await page.waitForSelector('#live[data-state="retrying"]');
      before = await page.$eval('#last-event', (e) => e.getAttribute('data-id'));
      assert.ok(before, 'an event was seen before the drop');
      ep = await attach('cache1', 'uib');
      await waitFor('cache1 installed', () => isInstalled(hosts.get('uib')!, 'p-cache1'), 60_000);
      assert.equal(await page.$$eval(`#topology [data-endpoint="${ep.id}"]`, (els) => els.length), 0, 'not shown while cut off');
    } finally {
      cutter!.restore();
    }
    await page.waitForSelector(`#live[data-state="live"][data-resumed-from="${before}"]`);
    await page.waitForSelector(`#topology [data-host="uib"] [data-endpoint="${ep.id}"][data-status="installed"]`);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
  });

  it('draws the tunnels to a host once it shares a network, without a reload', async () => {
    const ep = await attach('edge1', 'uic');
    await page.waitForSelector(`#topology [data-host="uic"] [data-endpoint="${ep.id}"][data-status="installed"]`);
    await page.waitForFunction(`document.querySelectorAll('#topology [data-tunnel]').length === 3`);
    const tunnels = await page.$$eval('#topology [data-tunnel]', (els) => els.map((e) => `${e.getAttribute('data-tunnel')}:${e.getAttribute('data-networks')}`));
    assert.deepEqual(tunnels.sort(), ['uia~uib:uiweb', 'uia~uic:uiweb', 'uib~uic:uiweb']);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
  });

  it('opens the drill-down of the new endpoint with its addresses, history and flows', async () => {
    const ep = eps.get('api1')!;
    await page.click(`#topology [data-endpoint="${ep.id}"]`);
    await page.waitForSelector(`#detail [data-endpoint-detail="${ep.id}"]`);
    await page.waitForSelector('#detail [data-flow]');
    const detail = (await call<{ flows: string[]; ips: string[]; mac: string }>('GET', `/v1/endpoints/${ep.id}`)).body;
    assert.ok(detail.flows.length > 0);
    const shownFlows = await page.$$eval('#detail [data-flow]', (els) => els.map((e) => e.textContent ?? ''));
    assert.deepEqual([...shownFlows].sort(), [...detail.flows].sort(), 'the page shows the flows the API reports');
    assert.equal(await page.$eval('#detail [data-field="ip"]', (e) => e.textContent), detail.ips.join(', '));
    assert.equal(await page.$eval('#detail [data-field="mac"]', (e) => e.textContent), detail.mac);
    assert.equal(await page.$eval('#detail [data-field="host"]', (e) => e.textContent), 'uia');
    const history = await page.$$eval('#detail .history li', (els) => els.map((e) => e.getAttribute('data-status')));
    assert.ok(history.includes('installed'), `history: ${history.join(' ')}`);
    await screenshot('3-drill-down');
  });

  it('draws the hop path of a trace across the tunnel, as POST /v1/trace computes it', async () => {
    const [from, to] = [eps.get('web1')!, eps.get('db1')!];
    await page.select('#trace-from', from.id);
    await page.select('#trace-to', to.id);
    await page.select('#trace-protocol', 'tcp');
    await page.$eval('#trace-port', (e) => ((e as unknown as { value: string }).value = '5432'));
    await page.click('#trace-form button[type="submit"]');
    await page.waitForSelector('#trace-path [data-verdict]');
    const trace = (await call<{ verdict: string; hops: { host: string; tableId: number }[] }>('POST', '/v1/trace', { from: from.id, to: to.id, protocol: 'tcp', dstPort: 5432 })).body;
    assert.equal(trace.verdict, 'delivered');
    const hops = await page.$$eval('#trace-path .hop', (els) => els.map((e) => `${e.getAttribute('data-host')}:${e.getAttribute('data-table')}`));
    assert.deepEqual(hops, trace.hops.map((h) => `${h.host}:${h.tableId}`), 'every hop, in order');
    assert.deepEqual(await page.$$eval('#trace-path [data-trace-host]', (els) => els.map((e) => e.getAttribute('data-trace-host'))), ['uia', 'uib']);
    assert.equal(await page.$$eval('#trace-path .tunnel-link', (els) => els.length), 1, 'one tunnel crossing drawn');
    assert.equal(await page.$eval('#trace-path [data-verdict]', (e) => e.getAttribute('data-verdict')), 'delivered');
    await page.click(`#topology [data-endpoint="${from.id}"]`);
    await page.waitForSelector(`#detail [data-endpoint-detail="${from.id}"] ~ .flows [data-flow]`);
    await screenshot('4-trace');
  });

  it('shows the effective rules and the QoS in force in the drill-down', async () => {
    const db = eps.get('db1')!;
    const group = await call<{ id: string; rules: { id: string }[] }>('POST', '/v1/security-groups', {
      name: 'uidb',
      rules: [{ direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteCidr: '10.6.0.0/24' }, { direction: 'ingress', protocol: 'icmp', remoteGroup: 'uidb' }],
    });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    assert.equal((await call('POST', '/v1/qos-policies', { name: 'uigold', egress: { rateKbps: 10000 }, dscp: 46 })).status, 201);
    const patched = await call('PATCH', `/v1/endpoints/${db.id}`, { securityGroups: ['uidb'], qosPolicy: 'uigold' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await page.click(`#topology [data-endpoint="${db.id}"]`);
    await page.waitForSelector(`#detail [data-endpoint-detail="${db.id}"]`);
    const api = (await call<{ policy: { rules: { id: string }[] } }>('GET', `/v1/endpoints/${db.id}`)).body;
    await page.waitForFunction(`document.querySelectorAll('#detail [data-rule]').length === ${api.policy.rules.length}`);
    const rules = await page.$$eval('#detail [data-rule]', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(rules.some((r) => r.startsWith('uidb: ingress tcp/5432 from 10.6.0.0/24')), rules.join(' | '));
    assert.ok(rules.some((r) => r.startsWith(`uidb: ingress icmp from group uidb (${db.ips[0]})`)), rules.join(' | '));
    assert.ok(rules.some((r) => r.startsWith('uidb: egress any IPv4 to anywhere')), rules.join(' | '));
    assert.deepEqual(
      (await page.$$eval('#detail [data-rule]', (els) => els.map((e) => e.getAttribute('data-rule')))).sort(),
      api.policy.rules.map((r) => r.id).sort(),
      'the rules the API reports',
    );
    await page.waitForFunction(`(document.querySelector('#detail [data-field="qos"]')?.textContent ?? '').includes('installed')`);
    assert.match(await page.$eval('#detail [data-field="qos"]', (e) => e.textContent ?? ''), /^uigold \(from the endpoint\): egress 10000 kbit\/s, DSCP 46; egress meter \d+ installed$/);
    await screenshot('5-policy');
  });

  it("with a tenant token shows only that tenant's endpoints and no hosts", async () => {
    assert.equal((await call('POST', '/v1/tenants', { name: 'uit' })).status, 201);
    assert.equal((await call('POST', '/v1/networks', { name: 'tnet', tenant: 'uit' })).status, 201);
    assert.equal((await call('POST', '/v1/subnets', { network: 'tnet', cidr: '10.7.0.0/24' })).status, 201);
    const own = await call<Created>('POST', '/v1/endpoints', { network: 'tnet', name: 'tep1', kind: 'vm' });
    assert.equal(own.status, 201);
    const tab = await browser!.newPage();
    try {
      tab.setDefaultTimeout(PAGE_WAIT_MS);
      await tab.goto(`http://127.0.0.1:${cutter!.port}/ui/`, { waitUntil: 'load' });
      await tab.type('#token', TENANT_TOKEN);
      await tab.click('#token-form button');
      await tab.waitForSelector(`#topology [data-endpoint="${own.body.id}"]`);
      await tab.waitForSelector('#live[data-state="live"]');
      assert.deepEqual(await tab.$$eval('#topology [data-endpoint]', (els) => els.map((e) => e.getAttribute('data-endpoint'))), [own.body.id]);
      assert.equal(await tab.$$eval('#topology [data-host]', (els) => els.length), 0);
      assert.match(await tab.$eval('#counts', (e) => e.textContent ?? ''), /hosts are visible to admin tokens only/);
    } finally {
      await tab.close();
    }
  });
});
