import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { ConnectionError, DecodeError, TimeoutError } from '../../../protocols/common/errors';
import { PlexusError } from '../../../protocols/common/errors';
import { OvsdbError, OvsdbFormatError } from '../../../protocols/ovsdb/errors';
import { JsonStream } from '../../../protocols/ovsdb/json-stream';
import type { Monitor } from '../../../protocols/ovsdb/monitor';
import type { RowChange } from '../../../protocols/ovsdb/replica';
import { decodeSet, decodeStringMap, equalRows, map, namedUuid, set, uuid, type Row } from '../../../protocols/ovsdb/rfc7047';
import type { RpcEvent } from '../../../protocols/ovsdb/rpc';
import { listen, type OvsdbListener } from '../../../protocols/ovsdb/listener';
import { OvsdbSession, type SessionStatus } from '../../../protocols/ovsdb/session';
import { parseListenTarget, parseTarget } from '../../../protocols/ovsdb/targets';
import {
  abort,
  comment,
  cond,
  deleteRows,
  insert,
  mutate,
  mutation,
  resolveNamedUuids,
  select,
  update,
  wait,
  assertLock,
} from '../../../protocols/ovsdb/transact';
import { waitFor } from '../../../src/sandbox/processes';
import { DbServer } from './db-server';

const DB = 'Open_vSwitch';
const FAST = { backoff: { delaysMs: [20, 50, 100], jitterRatio: 0.2 }, requestTimeoutMs: 10_000 } as const;

/** Records every status a session reports. */
function record(session: OvsdbSession): SessionStatus[] {
  const seen: SessionStatus[] = [];
  session.on('status', (s) => seen.push(s));
  return seen;
}

function rowByName(m: Monitor, table: string, name: string): [string, Row] | undefined {
  return m.replica.rows(table).find(([, r]) => r.name === name);
}

describe('ovsdb session helpers', () => {
  it('parses active and passive targets', () => {
    assert.deepEqual(parseTarget('tcp:127.0.0.1:6640'), { kind: 'tcp', host: '127.0.0.1', port: 6640 });
    assert.deepEqual(parseTarget('ssl:[::1]:6640'), { kind: 'ssl', host: '::1', port: 6640 });
    assert.deepEqual(parseTarget('unix:/run/db.sock'), { kind: 'unix', path: '/run/db.sock' });
    assert.deepEqual(parseListenTarget('ptcp:6640'), { kind: 'ptcp', port: 6640, host: '0.0.0.0' });
    assert.deepEqual(parseListenTarget('ptcp:0:127.0.0.1'), { kind: 'ptcp', port: 0, host: '127.0.0.1' });
    assert.deepEqual(parseListenTarget('punix:/tmp/x.sock'), { kind: 'punix', path: '/tmp/x.sock' });
    for (const bad of ['tcp:host', 'udp:1.2.3.4:1', 'tcp:h:70000', 'unix:']) assert.throws(() => parseTarget(bad), PlexusError, bad);
    assert.throws(() => parseListenTarget('ptcp:abc'), PlexusError);
  });
});

/**
 * A scripted server: answers get_schema and monitor_cond; on its first
 * connection it then sends a malformed update2.
 */
const U1 = '11111111-1111-1111-1111-111111111111';

async function startFakeServer(
  bad: unknown = { Bridge: { [U1]: { modify: { name: ['set', 'not-a-list'] } } } },
): Promise<{ port: number; connections: () => number; close: () => void }> {
  const schema = { name: 'Fake', version: '1.0.0', tables: { Bridge: { columns: { name: { type: 'string' }, mtu: { type: { key: 'integer', min: 0, max: 1 } } } } } };
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    const conn = ++n;
    sockets.add(sock);
    sock.on('error', () => undefined);
    const stream = new JsonStream();
    sock.on('data', (d: Buffer) => {
      for (const m of stream.push(d) as { id: unknown; method: string; params: unknown[] }[]) {
        if (m.method === 'get_schema') sock.write(JSON.stringify({ id: m.id, result: schema, error: null }));
        if (m.method === 'monitor_cond') {
          const initial = { Bridge: { [U1]: { initial: { name: conn === 1 ? 'br0' : 'br1' } } } };
          sock.write(JSON.stringify({ id: m.id, result: initial, error: null }));
          if (conn === 1) {
            sock.write(JSON.stringify({ method: 'update2', params: [m.params[1], bad], id: null }));
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('ovsdb session with a misbehaving server @slow', () => {
  it('drops the connection on a malformed update and resyncs after reconnecting', async () => {
    const fake = await startFakeServer();
    const session = await OvsdbSession.connect(`tcp:127.0.0.1:${fake.port}`, FAST);
    try {
      const seen = record(session);
      const m = await session.monitor('Fake', { Bridge: {} });
      const resynced = await waitFor('resynced', () => seen.find((x) => x.type === 'resynced'), 5000);
      const dropped = seen.find((x) => x.type === 'disconnected');
      assert.ok(dropped?.type === 'disconnected' && dropped.error instanceof OvsdbFormatError);
      assert.match(dropped.error.message, /RFC 7047 §5\.1 <set>/);
      assert.ok(resynced.type === 'resynced');
      assert.deepEqual(resynced.changes.map((c) => [c.old?.name, c.new?.name]), [['br0', 'br1']]);
      assert.equal(m.replica.rows('Bridge')[0]![1].name, 'br1');
      assert.deepEqual(seen.filter((x) => x.type === 'reconnecting').map((x) => x.type === 'reconnecting' && x.attempt), [1]);
      assert.equal(fake.connections(), 2);
    } finally {
      session.close();
      fake.close();
    }
  });

  it('drops the connection on an update with an undeclared column or an atom of the wrong type', async () => {
    const cases: [unknown, RegExp][] = [
      [{ Bridge: { [U1]: { modify: { bogus: 'x' } } } }, /RFC 7047 §5\.1 <row>: column "bogus" is not declared in table Bridge/],
      [{ Bridge: { [U1]: { modify: { mtu: 'big' } } } }, /RFC 7047 §5\.1 <atom>: "big" is not an integer .* at Bridge\.1{8}-1{4}-1{4}-1{4}-1{12}\.modify\.mtu/],
    ];
    for (const [bad, message] of cases) {
      const fake = await startFakeServer(bad);
      const session = await OvsdbSession.connect(`tcp:127.0.0.1:${fake.port}`, FAST);
      try {
        const seen = record(session);
        const m = await session.monitor('Fake', { Bridge: {} });
        await waitFor('resynced', () => seen.find((x) => x.type === 'resynced'), 5000);
        const dropped = seen.find((x) => x.type === 'disconnected');
        assert.ok(dropped?.type === 'disconnected' && dropped.error instanceof OvsdbFormatError, JSON.stringify(bad));
        assert.match(dropped.error.message, message);
        assert.deepEqual(m.replica.rows('Bridge')[0]![1], { name: 'br1', mtu: ['set', []] });
      } finally {
        session.close();
        fake.close();
      }
    }
  });
});

describe('ovsdb session against a real ovsdb-server @slow', function () {
  this.timeout(20_000);
  let server: DbServer;
  const sessions: OvsdbSession[] = [];
  const open = async (target: string, options = {}): Promise<OvsdbSession> => {
    const s = await OvsdbSession.connect(target, { ...FAST, ...options });
    sessions.push(s);
    return s;
  };

  before(async () => {
    server = await DbServer.start('ovsdb-client');
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });
  after(async () => {
    await server?.stop();
  });

  it('lists databases over unix and tcp', async () => {
    for (const target of [server.unixTarget, server.tcpTarget]) {
      const s = await open(target);
      const dbs = await s.listDbs();
      assert.ok(dbs.includes(DB), `${target}: ${dbs.join(',')}`);
    }
  });

  it('gets and parses the schema', async () => {
    const s = await open(server.unixTarget);
    const schema = await s.getSchema(DB);
    assert.equal(schema.name, DB);
    const ports = schema.tables.get('Bridge')?.columns.get('ports');
    assert.deepEqual(ports, { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: Infinity });
    assert.equal(schema.tables.get('Open_vSwitch')?.isRoot, true);
  });

  it('transacts insert/select/update/mutate/delete with sets, maps, uuids and named uuids', async () => {
    const s = await open(server.unixTarget);
    const [root] = (await s.transact(DB, [select('Open_vSwitch', [], ['_uuid'])] as const))[0].rows;
    const rootUuid = root!._uuid as ReturnType<typeof uuid>;

    const ops = [
      insert('Interface', { name: 'tx-p1', external_ids: map({ 'iface-id': 'ep-1' }) }, 'iface'),
      insert('Port', { name: 'tx-p1', interfaces: set([namedUuid('iface')]) }, 'port'),
      insert('Bridge', { name: 'tx-br', ports: set([namedUuid('port')]), external_ids: map({ owner: 'plexus' }) }, 'br'),
      mutate('Open_vSwitch', [cond('_uuid', '==', rootUuid)], [mutation('bridges', 'insert', set([namedUuid('br')]))]),
      comment('plexus test: create tx-br'),
    ] as const;
    const results = await s.transact(DB, ops);
    const names = resolveNamedUuids(ops, results);
    assert.equal(names.get('br'), results[2].uuid[1]);
    assert.equal(results[3].count, 1);
    assert.deepEqual(results[4], {});

    const listed = await server.vsctl('--columns=external_ids', 'list', 'Bridge', 'tx-br');
    assert.match(listed.stdout, /owner="?plexus"?/);
    assert.match((await server.vsctl('list-ports', 'tx-br')).stdout, /tx-p1/);

    const byName = [cond('name', '==', 'tx-br')];
    const upd = await s.transact(DB, [
      update('Bridge', byName, { external_ids: map({ owner: 'plexus', tier: 'web' }) }),
      mutate('Bridge', byName, [mutation('external_ids', 'insert', map({ extra: '1' }))]),
      select('Bridge', byName, ['external_ids', 'ports']),
    ] as const);
    assert.equal(upd[0].count, 1);
    const row = upd[2].rows[0]!;
    assert.deepEqual(decodeStringMap(row.external_ids), { owner: 'plexus', tier: 'web', extra: '1' });
    assert.deepEqual(decodeSet(row.ports).length, 1);

    // Delete: unlink from the root; the non-root rows are garbage collected.
    const brUuid = uuid(names.get('br')!);
    const unlinked = await s.transact(DB, [mutate('Open_vSwitch', [], [mutation('bridges', 'delete', set([brUuid]))])] as const);
    assert.equal(unlinked[0].count, 1);
    const del = await s.transact(DB, [select('Bridge', byName), select('Interface', [cond('name', '==', 'tx-p1')])] as const);
    assert.equal(del[0].rows.length, 0);
    assert.equal(del[1].rows.length, 0);
    // And an explicit delete of a root-less row that is not referenced (QoS is a root table).
    await s.transact(DB, [insert('QoS', { type: 'linux-htb' })] as const);
    const gone = await s.transact(DB, [deleteRows('QoS', [cond('type', '==', 'linux-htb')])] as const);
    assert.equal(gone[0].count, 1);
  });

  it('surfaces a failed operation and a failed commit as typed OvsdbErrors', async () => {
    const s = await open(server.unixTarget);
    await assert.rejects(
      s.transact(DB, [select('Bridge', []), abort()] as const),
      (e: unknown) => e instanceof OvsdbError && e.error === 'aborted' && e.operationIndex === 1 && !e.recoverable,
    );
    await assert.rejects(
      s.transact(DB, [select('No_Such_Table', [])] as const),
      (e: unknown) => e instanceof OvsdbError && e.operationIndex === 0 && /unknown table|syntax error/.test(e.error),
    );
    // Two bridges with one name violate Bridge's index: the commit itself fails.
    await assert.rejects(
      s.transact(DB, [insert('Bridge', { name: 'dup' }, 'a'), insert('Bridge', { name: 'dup' }, 'b'),
        mutate('Open_vSwitch', [], [mutation('bridges', 'insert', set([namedUuid('a'), namedUuid('b')]))])] as const),
      (e: unknown) => e instanceof OvsdbError && e.error === 'constraint violation' && e.operationIndex === undefined,
    );
  });

  it('keeps a replica that follows ovs-vsctl changes (monitor_cond and monitor)', async () => {
    const s = await open(server.unixTarget);
    const spec = {
      Bridge: { columns: ['name', 'ports', 'external_ids'] },
      Port: { columns: ['name', 'interfaces'] },
      Interface: { columns: ['name', 'external_ids', 'type'] },
    };
    const m2 = await s.monitor(DB, spec);
    const m1 = await s.monitor(DB, spec, { method: 'monitor' });
    assert.equal(m2.method, 'monitor_cond');
    assert.equal(m1.method, 'monitor');
    const changes: RowChange[] = [];
    m2.replica.on('change', (c) => changes.push(c));

    await server.vsctl('add-br', 'mon-br', '--', 'add-port', 'mon-br', 'mon-p1', '--', 'set', 'Interface', 'mon-p1', 'external_ids:iface-id=x');
    const [ifUuid] = await waitFor('Interface mon-p1 in the replica', () => rowByName(m2, 'Interface', 'mon-p1'));
    assert.deepEqual(decodeStringMap(m2.replica.get('Interface', ifUuid)!.external_ids), { 'iface-id': 'x' });
    assert.ok(changes.some((c) => c.table === 'Bridge' && c.old === undefined && c.new?.name === 'mon-br'));

    changes.length = 0;
    await server.vsctl('set', 'Interface', 'mon-p1', 'external_ids:iface-id=y', 'external_ids:attached-mac=02:00:00:00:00:01');
    const c = await waitFor('modify of mon-p1', () => changes.find((x) => x.uuid === ifUuid));
    assert.deepEqual(decodeStringMap(c.old!.external_ids), { 'iface-id': 'x' });
    assert.deepEqual(decodeStringMap(c.new!.external_ids), { 'iface-id': 'y', 'attached-mac': '02:00:00:00:00:01' });

    await server.vsctl('add-port', 'mon-br', 'mon-p2');
    await server.vsctl('del-port', 'mon-br', 'mon-p1');
    await waitFor('mon-p1 gone and mon-p2 present', () => !rowByName(m2, 'Interface', 'mon-p1') && rowByName(m2, 'Interface', 'mon-p2'));
    const [, br] = rowByName(m2, 'Bridge', 'mon-br')!;
    assert.equal(decodeSet(br.ports).length, 2); // the bridge's own internal port and mon-p2

    // Both update formats converge on the same replica, equal to the database.
    await s.echo('sync');
    for (const table of Object.keys(spec)) {
      const db = await server.dump(table, spec[table as keyof typeof spec].columns);
      for (const m of [m1, m2]) {
        assert.equal(m.replica.size(table), db.size, `${m.method} ${table} size`);
        for (const [u, row] of db) assert.ok(equalRows(m.replica.get(table, u), row as Row), `${m.method} ${table} ${u}`);
      }
    }
  });

  it('follows an optional column changed in place and cleared (update2 sends its new value, not a diff) @slow', async () => {
    const s = await open(server.unixTarget);
    const statuses = record(s);
    const m = await s.monitor(DB, { Manager: { columns: ['target', 'inactivity_probe'] } });
    assert.equal(m.method, 'monitor_cond');
    await server.vsctl('--id=@m', 'create', 'Manager', 'target="tcp:127.0.0.1:1"', 'inactivity_probe=5000', '--', 'add', 'Open_vSwitch', '.', 'manager_options', '@m');
    const probeOf = (): unknown => m.replica.rows('Manager').find(([, r]) => r.target === 'tcp:127.0.0.1:1')?.[1].inactivity_probe;
    await waitFor('the manager in the replica', () => probeOf() === 5000);
    await server.vsctl('set', 'Manager', '.', 'inactivity_probe=10000');
    await waitFor('inactivity_probe 10000', () => probeOf() === 10000);
    await server.vsctl('clear', 'Manager', '.', 'inactivity_probe');
    await waitFor('inactivity_probe cleared', () => JSON.stringify(probeOf()) === '["set",[]]');
    await server.vsctl('clear', 'Open_vSwitch', '.', 'manager_options');
    assert.deepEqual(statuses.filter((x) => x.type === 'disconnected'), [], 'no update was refused');
  });

  it('cancels a monitor and a blocked transaction', async () => {
    const s = await open(server.unixTarget);
    const m = await s.monitor(DB, { Bridge: { columns: ['name'] } });
    await s.cancelMonitor(m);
    assert.equal(m.currentState, 'cancelled');
    const before = m.replica.size('Bridge');
    await server.vsctl('add-br', 'after-cancel');
    await s.echo();
    assert.equal(m.replica.size('Bridge'), before);

    const ac = new AbortController();
    const blocked = s.transact(
      DB,
      [wait('Bridge', [cond('name', '==', 'never-there')], { columns: ['name'], until: '==', rows: [{ name: 'never-there' }] })] as const,
      { signal: ac.signal, timeoutMs: 0 },
    );
    await s.echo(); // the wait is now pending on the server
    ac.abort();
    await assert.rejects(blocked, (e: unknown) => e instanceof OvsdbError && e.error === 'canceled');
  });

  it('echoes both ways and probes an idle server', async () => {
    const s = await open(server.tcpTarget, { inactivityProbeMs: 150 });
    assert.deepEqual(await s.echo('ping', 1, { a: [true] }), ['ping', 1, { a: [true] }]);
    let probes = 0;
    s.connection!.on('event', (e: RpcEvent) => {
      if (e.kind === 'probe-sent') probes += 1;
    });
    await waitFor('two inactivity probes', () => probes >= 2, 3000);
    assert.ok(s.isConnected, 'a live server answers the probe');
  });

  it('closes a peer that stops answering (inactivity probe)', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const s = await open(`tcp:127.0.0.1:${port}`, { inactivityProbeMs: 100 });
      const seen = record(s);
      const t0 = Date.now();
      const dead = await waitFor('disconnect', () => seen.find((x) => x.type === 'disconnected'), 3000);
      assert.ok(dead.type === 'disconnected' && dead.error instanceof TimeoutError);
      assert.ok(Date.now() - t0 < 1000);
      await assert.rejects(s.listDbs(), ConnectionError);
      s.close();
    } finally {
      silent.close();
    }
  });

  it('arbitrates a lock between two sessions (lock, unlock, steal, assert)', async () => {
    const a = await open(server.unixTarget);
    const b = await open(server.unixTarget);
    const seenA = record(a);
    const seenB = record(b);
    assert.equal(await a.lock('plexus_master'), true);
    assert.equal(await b.lock('plexus_master'), false);
    assert.equal(b.hasLock('plexus_master'), false);
    await assert.rejects(b.transact(DB, [assertLock('plexus_master')] as const), (e: unknown) => e instanceof OvsdbError && e.error === 'not owner');

    await a.unlock('plexus_master');
    await waitFor('b locked', () => seenB.find((x) => x.type === 'locked' && x.lock === 'plexus_master'));
    assert.equal(b.hasLock('plexus_master'), true);
    await b.transact(DB, [assertLock('plexus_master')] as const);

    assert.equal(await a.steal('plexus_master'), true);
    await waitFor('b stolen', () => seenB.find((x) => x.type === 'stolen' && x.lock === 'plexus_master'));
    assert.equal(b.hasLock('plexus_master'), false);
    assert.equal(a.hasLock('plexus_master'), true);
    assert.ok(!seenA.some((x) => x.type === 'stolen'));
    await assert.rejects(a.lock('not-an-id'), /RFC 7047 §4.1.8/);
  });
});

describe('ovsdb session across a server restart @slow', function () {
  this.timeout(20_000);
  let server: DbServer;
  let session: OvsdbSession | undefined;

  before(async () => {
    server = await DbServer.start('ovsdb-restart');
  });
  after(async () => {
    session?.close();
    await server?.stop();
  });

  it('reconnects, re-monitors and resyncs the replica, including changes made while down', async () => {
    await server.vsctl('add-br', 'br-a', '--', 'add-port', 'br-a', 'a1', '--', 'set', 'Interface', 'a1', 'external_ids:iface-id=ep-a1');
    await server.vsctl('add-br', 'br-gone');
    session = await OvsdbSession.connect(server.unixTarget, FAST);
    const seen = record(session);
    const cols = { Bridge: ['name', 'ports', 'external_ids'], Interface: ['name', 'external_ids'] } as const;
    const m = await session.monitor(DB, { Bridge: { columns: cols.Bridge }, Interface: { columns: cols.Interface } });
    const lockHeld = await session.lock('restart_lock');
    assert.equal(lockHeld, true);
    const [aUuid] = rowByName(m, 'Bridge', 'br-a')!;
    const [goneUuid] = rowByName(m, 'Bridge', 'br-gone')!;
    const events: RowChange[] = [];
    m.replica.on('change', (c) => events.push(c));

    await server.kill();
    await waitFor('disconnected', () => seen.find((x) => x.type === 'disconnected'));
    await assert.rejects(session.listDbs(), (e: unknown) => e instanceof ConnectionError && e.recoverable);

    // While the server is down, change the database file directly.
    const root = [['_uuid', '!=', ['uuid', '00000000-0000-0000-0000-000000000000']]];
    await server.toolTransact([
      { op: 'insert', table: 'Bridge', row: { name: 'br-offline' }, 'uuid-name': 'nb' },
      { op: 'update', table: 'Bridge', where: [['name', '==', 'br-a']], row: { external_ids: ['map', [['changed', 'offline']]] } },
      { op: 'mutate', table: 'Open_vSwitch', where: root, mutations: [['bridges', 'insert', ['set', [['named-uuid', 'nb']]]]] },
      { op: 'mutate', table: 'Open_vSwitch', where: root, mutations: [['bridges', 'delete', ['set', [['uuid', goneUuid]]]]] },
    ]);

    await server.launch();
    const resynced = await waitFor('resynced', () => seen.find((x) => x.type === 'resynced'));
    assert.ok(resynced.type === 'resynced');
    assert.ok(seen.some((x) => x.type === 'reconnecting'));
    assert.ok(session.isConnected);

    // Only the differences were reported.
    const kinds = events.map((c) => `${c.table}:${c.old ? (c.new ? 'modify' : 'delete') : 'insert'}:${(c.new ?? c.old)!.name}`).sort();
    // br-gone's internal interface went with it (garbage collected).
    assert.deepEqual(kinds, ['Bridge:delete:br-gone', 'Bridge:insert:br-offline', 'Bridge:modify:br-a', 'Interface:delete:br-gone']);
    assert.deepEqual(decodeStringMap(m.replica.get('Bridge', aUuid)!.external_ids), { changed: 'offline' });

    // The replica equals the database, and keeps following it.
    await server.vsctl('add-br', 'br-after');
    await waitFor('br-after', () => rowByName(m, 'Bridge', 'br-after'));
    for (const [table, columns] of Object.entries(cols)) {
      const db = await server.dump(table, columns);
      assert.equal(m.replica.size(table), db.size, table);
      for (const [u, row] of db) assert.ok(equalRows(m.replica.get(table, u), row as Row), `${table} ${u}`);
    }
    // The lock was re-acquired on the new connection.
    await waitFor('lock re-acquired', () => session!.hasLock('restart_lock'));
  });
});

describe('ovsdb passive mode (set-manager to our listener) @slow', function () {
  this.timeout(20_000);
  let server: DbServer;
  let listener: OvsdbListener | undefined;

  before(async () => {
    server = await DbServer.start('ovsdb-passive');
  });
  after(async () => {
    await listener?.close();
    await server?.stop();
  });

  it('drops a peer sending garbage, then serves the server that connects in', async () => {
    listener = await listen('ptcp:0:127.0.0.1');
    const accepted: OvsdbSession[] = [];
    listener.on('session', (s) => accepted.push(s));

    // A bad peer: its session closes with a DecodeError; the listener carries on.
    const closed: SessionStatus[] = [];
    const bad = net.connect(listener.port, '127.0.0.1');
    bad.on('error', () => undefined);
    await waitFor('garbage session', () => accepted.length === 1);
    accepted[0]!.on('status', (s) => closed.push(s));
    bad.write('{"id":1,"result":[]}this is not json');
    const end = await waitFor('garbage peer closed', () => closed.find((x) => x.type === 'closed'));
    assert.ok(end.type === 'closed' && end.error instanceof DecodeError, String(end.type === 'closed' && end.error));
    bad.destroy();

    await server.vsctl('set-manager', `tcp:127.0.0.1:${listener.port}`);
    await server.vsctl('set', 'Manager', '.', 'inactivity_probe=1000');
    const host = await waitFor('ovsdb-server to connect in', () => accepted.find((s) => s !== accepted[0] && s.isConnected));
    assert.ok(host.isPassive);
    let echoes = 0;
    host.connection!.on('event', (e: RpcEvent) => {
      if (e.kind === 'echo-answered') echoes += 1;
    });

    const m = await host.monitor(DB, { Open_vSwitch: { columns: ['external_ids', 'manager_options'] } });
    assert.equal(m.replica.size('Open_vSwitch'), 1);
    await server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:system-id=host-1', 'external_ids:plexus-encap-ip=192.0.2.1');
    await waitFor('system-id in the replica', () => {
      const [[, row]] = m.replica.rows('Open_vSwitch') as [[string, Row]];
      return decodeStringMap(row.external_ids)['system-id'] === 'host-1';
    });
    // The server probes an idle manager connection with echo; we answer and stay connected.
    await waitFor('an echo from the server', () => echoes >= 1, 5000);
    assert.ok(host.isConnected);
    assert.deepEqual(await host.listDbs().then((d) => d.includes(DB)), true);
    await server.vsctl('del-manager');
    await waitFor('manager connection closed', () => host.currentState === 'closed');
  });

  it('accepts a manager connection on punix: too', async () => {
    const unixListener = await listen(`punix:${join(server.dir, 'plexus.sock')}`);
    try {
      const accepted = new Promise<OvsdbSession>((resolve) => unixListener.on('session', resolve));
      await server.vsctl('set-manager', `unix:${join(server.dir, 'plexus.sock')}`);
      const host = await accepted;
      const m = await host.monitor(DB, { Open_vSwitch: { columns: ['manager_options'] } });
      assert.equal(m.replica.size('Open_vSwitch'), 1);
      await server.vsctl('del-manager');
    } finally {
      await unixListener.close();
    }
  });
});
