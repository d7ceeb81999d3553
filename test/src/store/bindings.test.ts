/** Binding writes against a real etcd: a turn's updates go out as one multi-key transaction, and stay correct under a second writer. */
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { BindingWriter } from '../../../src/store/bindings';
import { bindingCollection, STORED_FORM } from '../../../src/store/stored-form';
import { Keys } from '../../../src/store/keys';
import { TestEtcd } from '../../support/test-etcd';

describe('BindingWriter against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  const keys = new Keys('/plexus-bindings-test/');

  before(async () => {
    etcd = await TestEtcd.start('bindings');
    client = etcd.client();
    // An upgraded cluster: the short form is on (else the first write's look would add a revision of its own).
    await client.put(keys.storedForm()).value(String(STORED_FORM));
  });

  after(async () => {
    await etcd?.stop();
  });

  const revisionNow = async (): Promise<bigint> => BigInt((await client.get(keys.probe()).exec()).header.revision);

  it('writes 200 attaches asked for in one turn in ceil(200 / 64) transactions, each binding once', async () => {
    const writer = new BindingWriter(client, keys);
    const before = await revisionNow();
    const ids = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    const out = await Promise.all(ids.map((id, i) => writer.bind({ endpoint: id, host: 'h1', ofport: i + 1, ifaceName: `p${i}` })));
    assert.ok(out.every((b) => b?.status === 'bound'));
    // Each successful transaction is one etcd revision, whatever the number of keys it writes.
    assert.equal(await revisionNow() - before, 4n);
    const stored = await bindingCollection(client, keys).list();
    assert.deepEqual(stored.filter((s) => s.value.endpoint.startsWith('burst-')).map((s) => s.value.ofport).sort((a, b) => a! - b!), ids.map((_, i) => i + 1));
  });

  it('applies several updates of one endpoint in a turn in order, and writes nothing for a no-op', async () => {
    const writer = new BindingWriter(client, keys);
    const [bound, installed, again] = await Promise.all([
      writer.bind({ endpoint: 'seq', host: 'h1', ofport: 5, ifaceName: 'p5' }),
      writer.installed('seq', 'h1', 5),
      writer.bind({ endpoint: 'seq', host: 'h1', ofport: 5, ifaceName: 'p5' }),
    ]);
    assert.equal(bound?.status, 'bound');
    assert.equal(installed?.status, 'installed');
    assert.equal(again, undefined, 'already bound there');
    const rev = await revisionNow();
    assert.equal(await writer.bind({ endpoint: 'seq', host: 'h1', ofport: 5, ifaceName: 'p5' }), undefined);
    assert.equal(await revisionNow(), rev, 'a no-op writes nothing');
  });

  it('re-reads in the same round trip when another member wrote first, and never takes down a binding that moved', async () => {
    const a = new BindingWriter(client, keys);
    const b = new BindingWriter(client, keys);
    await a.bind({ endpoint: 'moved', host: 'h1', ofport: 1, ifaceName: 'p1' });
    // Another member (b) binds it on h2; a still remembers its own revision.
    await b.bind({ endpoint: 'moved', host: 'h2', ofport: 9, ifaceName: 'p9' });
    assert.equal(await a.down('moved', 'h1'), undefined, 'h1 no longer holds it');
    const cur = await bindingCollection(client, keys).get('moved');
    assert.deepEqual([cur?.value.host, cur?.value.status], ['h2', 'bound']);
    const down = await a.down('moved', 'h2');
    assert.equal(down?.status, 'down');
  });
});
