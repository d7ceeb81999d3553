/**
 * The short stored form during a rolling upgrade, against a real etcd: while a
 * member of the previous version is registered, endpoints, bindings and
 * address claims are written in the full form it reads; once none is left the
 * short form is switched on for good. A name whose endpoint the previous
 * version deleted (leaving its key) is free again.
 */
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { BindingWriter } from '../../../src/store/bindings';
import { Keys } from '../../../src/store/keys';
import type { MemberRecord } from '../../../src/store/model';
import { ModelStore } from '../../../src/store/model-store';
import { STORED_FORM } from '../../../src/store/stored-form';
import { StoredFormGate } from '../../../src/store/stored-form-gate';
import { TestEtcd } from '../../support/test-etcd';

describe('stored form gate against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  const keys = new Keys('/gate-test/');
  const member = (id: string, storedForm?: number): MemberRecord => ({
    id,
    api: '127.0.0.1:1',
    openflow: 'tcp:127.0.0.1:2',
    ovsdb: 'tcp:127.0.0.1:3',
    advertise: '127.0.0.1',
    leaseId: '1',
    startedAt: '2026-12-01T00:00:00.000Z',
    ...(storedForm === undefined ? {} : { storedForm }),
  });
  const putMember = (m: MemberRecord) => client.put(keys.member(m.id)).value(JSON.stringify(m)).exec();

  before(async () => {
    etcd = await TestEtcd.start('gate');
    client = etcd.client();
  });

  after(async () => {
    await etcd?.stop();
  });

  it('writes the full form while a member of the previous version is registered, the short form once none is', async () => {
    await putMember(member('new-1', STORED_FORM));
    await putMember(member('old-1'));
    const store = new ModelStore(client, keys);
    const net = (await store.createNetwork({ name: 'n' })).value.id;
    const sub = (await store.createSubnet({ network: net, cidr: '10.5.0.0/24' })).value.id;
    const e = await store.createEndpoint({ network: net, name: 'full' });
    const stored = (await client.get(keys.endpoint(net, e.value.id)).string())!;
    assert.equal(stored, JSON.stringify(e.value), 'the record as the previous version writes it');
    assert.equal(await client.get(keys.ip(sub, e.value.ips[0]!)).string(), e.value.id);
    await store.updateEndpoint(e.value.id, { labels: { a: 'b' } });
    assert.match((await client.get(keys.endpoint(net, e.value.id)).string())!, /^\{"id":/);
    const writer = new BindingWriter(client, keys);
    await writer.bind({ endpoint: e.value.id, host: 'h1', ofport: 4, ifaceName: 'tap4' });
    assert.match((await client.get(keys.binding(e.value.id)).string())!, /^\{"endpoint":/);
    assert.equal(await client.get(keys.storedForm()).string(), null);

    await client.delete().key(keys.member('old-1')).exec();
    const gate = new StoredFormGate({ client, keys }, 0);
    assert.equal(await gate.isShort(), true);
    assert.equal(await client.get(keys.storedForm()).string(), String(STORED_FORM));
    // Any member now writes short, with no member record to check (the key says so for good).
    await putMember(member('old-2'));
    const later = new ModelStore(client, keys);
    const s = await later.createEndpoint({ network: net, name: 'short' });
    assert.ok(!(await client.get(keys.endpoint(net, s.value.id)).string())!.includes('"id"'));
    assert.equal(await client.get(keys.ip(sub, s.value.ips[0]!)).string(), '');
    assert.deepEqual((await later.getEndpoint(e.value.id)).value.labels, { a: 'b' });
    await client.delete().key(keys.member('old-2')).exec();
  });

  it('frees a name whose endpoint the previous version deleted without its name key', async () => {
    const store = new ModelStore(client, keys);
    const e = await store.createEndpoint({ network: 'n', name: 'reused' });
    // What the previous version's delete removes: everything but the name key it does not know.
    const kept = await client.get(keys.endpointName('default', 'reused')).string();
    assert.equal(kept, e.value.id);
    await client.delete().key(keys.endpoint(e.value.network, e.value.id)).exec();
    await client.delete().key(keys.endpointNetwork(e.value.id)).exec();
    await client.delete().key(keys.mac(e.value.mac)).exec();
    const again = await store.createEndpoint({ network: 'n', name: 'reused' });
    assert.equal(await client.get(keys.endpointName('default', 'reused')).string(), again.value.id);
    // A name held by an endpoint that exists stays taken.
    await assert.rejects(store.createEndpoint({ network: 'n', name: 'reused' }), /endpoint name "reused" is already used/);
    await assert.rejects(store.endpoints.names.checkFree('default', 'reused'), /already used/);
  });
});
