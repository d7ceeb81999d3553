/**
 * Host records against a real etcd: a member that starts knows the encap IP of
 * every host in etcd at once, not only of those whose records it rewrites (its
 * own hosts) or that change later. Otherwise a restarted member compiles a host
 * without the peers another member masters, and its first sync deletes their
 * tunnel flows (the chaos test's full restart saw ~200 such deletes).
 */
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { silentLogger } from '../../../src/log';
import { HostRecords } from '../../../src/southbound/host-records';
import { Collection } from '../../../src/store/collection';
import { Keys } from '../../../src/store/keys';
import type { HostRecord } from '../../../src/store/model';
import { holds } from '../../../src/store/txn';
import { waitFor } from '../../../src/sandbox/processes';
import { TestEtcd } from '../../support/test-etcd';

describe('host records against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  const keys = new Keys('/host-records-test/');
  const record = (id: string, master: string, encapIp: string | null): HostRecord => ({
    id, encapIp, datapathId: null, datapathType: 'netdev', ovsVersion: '3.1.0', ovsdbConnected: true, ofConnected: true,
    master, status: 'ready', reason: null, joinedAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z',
  });

  before(async () => {
    etcd = await TestEtcd.start('host-records');
    client = etcd.client();
  });

  after(async () => {
    await etcd?.stop();
  });

  it('knows every host\'s encap IP once started, whoever masters it, and follows later changes', async () => {
    const hosts = new Collection<HostRecord>(client, keys.hosts());
    await hosts.put('h1', record('h1', 'm1', '127.1.0.1'));
    await hosts.put('h2', record('h2', 'm2', '127.1.0.2'));
    await hosts.put('h3', record('h3', 'm3', '127.1.0.3'));
    await hosts.put('h4', record('h4', 'm2', null));
    const records = new HostRecords(hosts, silentLogger());
    // m1 restarts: it rewrites only h1, its own host.
    const rewritten: string[] = [];
    await records.start((r) => {
      if (r.master !== 'm1') return undefined;
      rewritten.push(r.id);
      return { ...r, ovsdbConnected: false, ofConnected: false, status: 'disconnected', reason: 'controller restarted' };
    });
    try {
      assert.deepEqual(rewritten, ['h1']);
      assert.deepEqual([...records.knownEncapIps()].sort(), [['h1', '127.1.0.1'], ['h2', '127.1.0.2'], ['h3', '127.1.0.3']]);
      const events: [string, string | undefined][] = [];
      records.on('encapIp', (id, ip) => events.push([id, ip]));
      await hosts.put('h2', record('h2', 'm2', '127.1.0.22'));
      await hosts.put('h4', record('h4', 'm2', '127.1.0.4'));
      await hosts.delete('h3');
      await waitFor('the watch to report three changes', () => events.length >= 3);
      assert.deepEqual(events, [['h2', '127.1.0.22'], ['h4', '127.1.0.4'], ['h3', undefined]]);
      assert.deepEqual([...records.knownEncapIps()].sort(), [['h1', '127.1.0.1'], ['h2', '127.1.0.22'], ['h4', '127.1.0.4']]);
    } finally {
      await records.stop();
    }
  });

  it('writes a master\'s record only while the master key is held as given (a pass outliving a hand-over writes nothing)', async () => {
    const hosts = new Collection<HostRecord>(client, keys.hosts());
    const records = new HostRecords(hosts, silentLogger());
    await records.start(() => undefined);
    try {
      const m1 = JSON.stringify({ member: 'm1' });
      const held = holds(keys.master('h9'), m1);
      await client.put(keys.master('h9')).value(m1).exec();
      await records.write(record('h9', 'm1', '127.1.0.9'), held);
      assert.equal((await hosts.get('h9'))?.value.status, 'ready');
      // Handed over: m2 holds the key and writes; m1's late write must not land over it.
      await client.put(keys.master('h9')).value(JSON.stringify({ member: 'm2' })).exec();
      await hosts.put('h9', { ...record('h9', 'm2', '127.1.0.9'), status: 'configuring' });
      await records.write({ ...record('h9', 'm1', '127.1.0.9'), reason: 'late' }, held);
      const stored = (await hosts.get('h9'))?.value;
      assert.equal(stored?.master, 'm2');
      assert.equal(stored?.status, 'configuring');
    } finally {
      await records.stop();
    }
  });
});
