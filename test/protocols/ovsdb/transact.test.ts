import assert from 'node:assert/strict';
import { OvsdbError, OvsdbFormatError } from '../../../protocols/ovsdb/errors';
import { map, namedUuid, set } from '../../../protocols/ovsdb/rfc7047';
import {
  abort,
  assertLock,
  checkTransactResults,
  comment,
  commit,
  cond,
  deleteRows,
  insert,
  mutate,
  mutation,
  resolveNamedUuids,
  select,
  update,
  wait,
} from '../../../protocols/ovsdb/transact';

const U1 = '8a5f0d3e-1b2c-4d5e-9f60-123456789abc';
const U2 = '9a5f0d3e-1b2c-4d5e-9f60-123456789abc';

describe('ovsdb transact operations', () => {
  it('builds every RFC 7047 §5.2 operation as plain JSON', () => {
    assert.deepEqual(insert('Port', { name: 'p', interfaces: set([namedUuid('i')]) }, 'p'), {
      op: 'insert',
      table: 'Port',
      row: { name: 'p', interfaces: ['set', [['named-uuid', 'i']]] },
      'uuid-name': 'p',
    });
    assert.deepEqual(select('Bridge', [cond('name', '==', 'br0')], ['ports']), {
      op: 'select',
      table: 'Bridge',
      where: [['name', '==', 'br0']],
      columns: ['ports'],
    });
    assert.deepEqual(update('Bridge', [], { external_ids: map({ a: 'b' }) }).row, { external_ids: ['map', [['a', 'b']]] });
    assert.deepEqual(mutate('Bridge', [], [mutation('ports', 'delete', set([]))]).mutations, [['ports', 'delete', ['set', []]]]);
    assert.deepEqual(deleteRows('QoS', []), { op: 'delete', table: 'QoS', where: [] });
    assert.deepEqual(wait('Bridge', [], { columns: ['name'], until: '==', rows: [{ name: 'x' }], timeoutMs: 10.7 }).timeout, 10);
    assert.deepEqual(commit(true), { op: 'commit', durable: true });
    assert.deepEqual(abort(), { op: 'abort' });
    assert.deepEqual(comment('hi'), { op: 'comment', comment: 'hi' });
    assert.deepEqual(assertLock('l'), { op: 'assert', lock: 'l' });
  });

  it('rejects malformed operations before sending them', () => {
    assert.throws(() => insert('Port', { name: 'p' }, 'bad name'), (e: unknown) => e instanceof OvsdbFormatError && /§5\.2\.1/.test(e.section));
    assert.throws(() => cond('name', '~=' as never, 'x'), /<condition>/);
    assert.throws(() => mutation('n', '^=' as never, 1), /<mutation>/);
    assert.throws(() => update('T', [], { bad: ['set', 1] as never }), /<set>/);
  });

  it('types results by operation and resolves named uuids', () => {
    const ops = [insert('Interface', { name: 'i' }, 'iface'), select('Bridge'), deleteRows('QoS', []), comment('c')] as const;
    const results = checkTransactResults(ops, [{ uuid: ['uuid', U1] }, { rows: [{ name: 'br0' }] }, { count: 2 }, {}]);
    assert.equal(results[0].uuid[1], U1);
    assert.equal(results[1].rows[0]!.name, 'br0');
    assert.equal(results[2].count, 2);
    assert.deepEqual(resolveNamedUuids(ops, results), new Map([['iface', U1]]));
  });

  it('turns a failed operation into an OvsdbError naming it', () => {
    const ops = [insert('Bridge', { name: 'b' }), update('Bridge', [], { name: 'c' })] as const;
    assert.throws(
      () => checkTransactResults(ops, [{ uuid: ['uuid', U2] }, { error: 'constraint violation', details: 'dup' }]),
      (e: unknown) =>
        e instanceof OvsdbError &&
        e.error === 'constraint violation' &&
        e.details === 'dup' &&
        e.operationIndex === 1 &&
        /operation 1 \(update Bridge\)/.test(e.message),
    );
    // A commit failure is an extra trailing error after all successes.
    assert.throws(
      () => checkTransactResults([insert('Bridge', { name: 'b' })] as const, [{ uuid: ['uuid', U2] }, { error: 'referential integrity violation' }]),
      (e: unknown) => e instanceof OvsdbError && e.operationIndex === undefined && e.error === 'referential integrity violation',
    );
    const timedOut = (() => {
      try {
        checkTransactResults([wait('T', [], { columns: [], until: '==', rows: [], timeoutMs: 0 })] as const, [{ error: 'timed out' }]);
      } catch (e) {
        return e as OvsdbError;
      }
      return undefined;
    })();
    assert.equal(timedOut?.recoverable, true);
  });

  it('rejects result arrays that do not follow §4.1.3', () => {
    assert.throws(() => checkTransactResults([select('T')] as const, {}), OvsdbFormatError);
    assert.throws(() => checkTransactResults([select('T'), select('T')] as const, [{ rows: [] }]), OvsdbFormatError);
    assert.throws(() => checkTransactResults([insert('T', {})] as const, [{ uuid: 'x' }]), OvsdbFormatError);
    assert.throws(() => checkTransactResults([select('T')] as const, [{ rows: [{ a: { bad: 1 } }] }]), OvsdbFormatError);
  });
});
