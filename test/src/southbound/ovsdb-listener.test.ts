import assert from 'node:assert/strict';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConnectionError } from '../../../protocols/common/errors';
import { OvsdbSession } from '../../../protocols/ovsdb/session';
import { cond, insert, mutate, mutation } from '../../../protocols/ovsdb/transact';
import { namedUuid, map, set } from '../../../protocols/ovsdb/rfc7047';
import { silentLogger } from '../../../src/log';
import { waitFor } from '../../../src/sandbox/processes';
import type { HostLink } from '../../../src/southbound/host-link';
import { HostListener } from '../../../src/southbound/ovsdb-listener';
import { DbServer } from '../../protocols/ovsdb/db-server';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection (twice: weak callbacks run in the first). */
function heapAfterGcBytes(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Adds `n` ports (one interface each, with iface-id) to br-int in one transaction. */
async function addPorts(db: DbServer, n: number): Promise<void> {
  const s = await OvsdbSession.connect(db.unixTarget);
  try {
    const ops = [];
    for (let i = 0; i < n; i++) {
      ops.push(insert('Interface', { name: `lp${i}`, type: 'internal', external_ids: map({ 'iface-id': `endpoint-${i}`, 'attached-mac': '02:00:00:00:00:01' }) }, `i${i}`));
      ops.push(insert('Port', { name: `lp${i}`, interfaces: set([namedUuid(`i${i}`)]) }, `p${i}`));
    }
    ops.push(mutate('Bridge', [cond('name', '==', 'br-int')], [mutation('ports', 'insert', set(Array.from({ length: n }, (_, i) => namedUuid(`p${i}`))))]));
    await s.transact('Open_vSwitch', ops, { timeoutMs: 60_000 });
  } finally {
    s.close();
  }
}

describe('ovsdb listener (hosts connect in) @slow', function () {
  this.timeout(120_000);
  let db: DbServer;
  let listener: HostListener;
  const links: HostLink[] = [];

  beforeEach(async () => {
    db = await DbServer.start('listener');
    listener = new HostListener(silentLogger(), (link) => links.push(link));
  });
  afterEach(async () => {
    links.length = 0;
    await listener.close();
    await db.stop();
  });

  it("lets go of a host's replica when the host leaves, even while its link is still held", async () => {
    const ports = 20_000;
    await db.vsctl('add-br', 'br-int');
    await addPorts(db, ports);
    const port = await listener.listen('127.0.0.1', 0);
    const baseline = heapAfterGcBytes();
    await db.vsctl('set-manager', `tcp:127.0.0.1:${port}`);
    const link = await waitFor('host link', () => links[0], 30_000);
    assert.equal(link.rows().get('Interface')!.size, ports + 1); // and br-int's own
    const joined = heapAfterGcBytes();
    let reason: string | undefined;
    link.onClose((r) => (reason = r));
    await db.vsctl('del-manager');
    await waitFor('host to leave', () => reason !== undefined, 30_000);
    // The link is still referenced here (as the overlay keeps the last link of every host).
    const left = heapAfterGcBytes();
    // Measured as what leaving frees: earlier tests' objects released meanwhile can
    // shrink joined - baseline (and did, in a full run), but cannot hide a replica kept.
    const released = joined - left;
    const held = left - baseline;
    assert.ok(released > 10_000_000, `the replica of ${ports} ports should be sizeable and let go, ${released} bytes were`);
    assert.ok(held < released / 5, `after the host left, ${held} bytes more than before it joined are still held (${released} let go)`);
    for (const [table, rows] of link.rows()) assert.equal(rows.size, 0, table);
    await assert.rejects(link.transact([]), ConnectionError);
  });
});

/** Raw TCP connections from 127.0.0.1, as a host (or an attacker posing as one) opens them. */
async function openConnections(port: number, n: number): Promise<{ sockets: net.Socket[]; isClosed: (i: number) => boolean; firstData: (i: number) => string }> {
  const sockets: net.Socket[] = [];
  const closed = new Set<number>();
  const data = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('close', () => closed.add(i));
    s.on('data', (d: Buffer) => data.set(i, (data.get(i) ?? '') + d.toString()));
    await new Promise((r) => s.once('connect', r));
    sockets.push(s);
  }
  return { sockets, isClosed: (i) => closed.has(i), firstData: (i) => data.get(i) ?? '' };
}

describe('ovsdb listener limits', function () {
  this.timeout(20_000);
  let listener: HostListener | undefined;
  const opened: net.Socket[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) s.destroy();
    await listener?.close();
  });

  it('refuses connections beyond the per-address limit, and takes new ones once some close', async () => {
    listener = new HostListener(silentLogger(), () => undefined, { maxConnectionsPerAddress: 3 });
    const port = await listener.listen('127.0.0.1', 0);
    const c = await openConnections(port, 4);
    opened.push(...c.sockets);
    // Admitted connections are asked for the schema at once; the fourth is closed.
    await waitFor('three admitted', () => [0, 1, 2].every((i) => c.firstData(i).includes('get_schema')), 5000);
    await waitFor('fourth refused', () => c.isClosed(3), 5000);
    assert.equal(c.firstData(3), '');
    assert.ok(![0, 1, 2].some((i) => c.isClosed(i)));
    c.sockets[0]!.destroy();
    // Once the listener has seen the first one close, a new connection is admitted.
    await waitFor('a new one admitted', async () => {
      const again = await openConnections(port, 1);
      opened.push(...again.sockets);
      await waitFor('schema request or close', () => again.firstData(0) !== '' || again.isClosed(0), 5000);
      return again.firstData(0).includes('get_schema');
    }, 5000);
  });

  it('drops connections whose half-sent messages would take more than the shared budget', async () => {
    const mib = 1024 * 1024;
    listener = new HostListener(silentLogger(), () => undefined, { maxBufferedBytes: 16 * mib, maxMessageBytes: 8 * mib });
    const port = await listener.listen('127.0.0.1', 0);
    const c = await openConnections(port, 6);
    opened.push(...c.sockets);
    // Each sends 5 MiB of a reply that never ends: 6 of them would hold 30 MiB.
    const half = Buffer.concat([Buffer.from('{"id":1,"error":null,"result":"'), Buffer.alloc(5 * mib - 32, 0x61)]);
    await Promise.all(c.sockets.map((s) => new Promise((r) => s.write(half, r))));
    await waitFor('three dropped', () => [0, 1, 2, 3, 4, 5].filter((i) => c.isClosed(i)).length === 3, 10_000);
    // The three left hold 15 MiB; nothing more is dropped.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal([0, 1, 2, 3, 4, 5].filter((i) => c.isClosed(i)).length, 3);
  });
});
