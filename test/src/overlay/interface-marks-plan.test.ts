/**
 * Interface marks re-plan only what changed (a new view: the attachments that
 * are not the objects planned last; a model change: the endpoints it touched),
 * and must write exactly what planning every attachment from scratch writes.
 * Pure: a model cache fed events directly, host rows as the replica holds them;
 * the link hands each transaction to the test, which applies it to the rows
 * (as ovsdb-server would) before the next step.
 */
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import type { Mastery } from '../../../src/cluster/ownership';
import { silentLogger } from '../../../src/log';
import { InterfaceMarks, type InterfaceMarksDeps } from '../../../src/overlay/interface-marks';
import type { ClaimProblem } from '../../../src/overlay/attachment-observer';
import { readAttachments, type Attachment } from '../../../src/southbound/attachments';
import type { HostLink } from '../../../src/southbound/host-link';
import { viewFromRows, type OvsView } from '../../../src/southbound/ovs-view';
import { Keys } from '../../../src/store/keys';
import type { Binding } from '../../../src/store/model';
import { ModelCache } from '../../../src/store/model-cache';
import type { Operation } from '../../../protocols/ovsdb/transact';
import { map } from '../../../protocols/ovsdb/rfc7047';
import { bind, ep, net, subnet } from '../../support/model-fixtures';
import { HostRows, U } from '../../support/ovs-rows';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const mastery = { memberId: 'm1', isMaster: (h: string) => h === 'h1' } as unknown as Mastery;

/** Applies the marks' `mutate Interface ... external_ids delete/insert` to the rows, as ovsdb-server would. */
function applyTo(rows: HostRows, ops: readonly Operation[]): void {
  for (const op of ops as unknown as { op: string; table: string; where: [string, string, [string, string]][]; mutations: [string, string, [string, unknown[]]][] }[]) {
    assert.equal(`${op.op} ${op.table}`, 'mutate Interface');
    const id = op.where[0]![2][1];
    const ids = rows.externalIds(id);
    for (const [column, how, [, items]] of op.mutations) {
      assert.equal(column, 'external_ids');
      if (how === 'delete') for (const k of items as string[]) delete ids[k];
      else for (const [k, v] of items as [string, string][]) ids[k] = v;
    }
    rows.setExternalIds(id, ids);
  }
}

const sorted = (ops: readonly Operation[]): string[] => ops.map((o) => JSON.stringify(o)).sort();

describe('interface marks: re-planning what changed writes what planning everything writes', () => {
  const client = new Etcd3({ hosts: '127.0.0.1:9' }); // never used: apply() does no I/O
  after(() => client.close());
  let rev = 0;

  it('through binds, a move away, a missing endpoint created, a refused claim, a delete and interface edits', async () => {
    const cache = new ModelCache(client, new Keys('/t/'), silentLogger());
    const put = (resource: 'network' | 'subnet' | 'endpoint' | 'binding', id: string, value: unknown): void =>
      cache.apply({ resource, event: { kind: 'put', id, value, revision: String(++rev) } } as Parameters<ModelCache['apply']>[0]);
    const del = (resource: 'endpoint' | 'binding', id: string): void =>
      cache.apply({ resource, event: { kind: 'delete', id, revision: String(++rev) } } as Parameters<ModelCache['apply']>[0]);
    put('network', 'A', net('A', 100));
    put('subnet', 'A/s1', subnet('s1', 'A', '10.0.0.0/24', '10.0.0.1'));
    for (let i = 1; i <= 3; i++) put('endpoint', `A/ep${i}`, ep(`ep${i}`, 'A', `02:00:00:00:00:0${i}`, `10.0.0.1${i}`));
    await nextTurn();

    const rows = HostRows.configured('h1');
    const ifs = [1, 2, 3].map((n) => rows.addPort(U(2), `tap-${n}`, { ofport: 10 + n, external_ids: map({ 'iface-id': `ep${n}`, ...(n === 1 ? {} : { 'attached-mac': `02:00:00:00:00:0${n}` }) }) }));
    rows.setExternalIds(ifs[1]!, { ...rows.externalIds(ifs[1]!), 'plexus-installed': 'true', 'plexus-installed-ts': '1' });
    const missing = rows.addPort(U(2), 'tap-4', { ofport: 14, external_ids: map({ 'iface-id': 'ep4' }) });
    rows.addPort(U(2), 'tap-x', { ofport: 15 }); // no iface-id: unbindable

    let view: OvsView = viewFromRows(rows.rows());
    let attached: ReadonlyMap<string, Attachment> = readAttachments(view);
    const problems = new Map<string, ClaimProblem>();
    const sent: Operation[][] = [];
    const link = { remote: 'test', transact: async (ops: readonly Operation[]) => void sent.push([...ops]) } as unknown as HostLink;
    const deps: InterfaceMarksDeps = {
      cache, mastery, log: silentLogger(), missingEndpointGraceMs: 0,
      attachmentsOf: () => attached,
      hostsAttaching: (e) => (attached.has(e) ? ['h1'] : []),
      problemOf: (_h, e) => problems.get(e),
      unmarked: () => undefined,
    };
    const marks = new InterfaceMarks(deps);
    cache.on('changed', (c) => marks.applyModelChange(c));

    /** What planning every attachment of the host from scratch writes now. */
    const fullPlan = async (): Promise<string[]> => {
      const fresh = new InterfaceMarks({ ...deps, unmarked: () => undefined });
      const before = sent.length;
      fresh.observe('h1', view, link);
      await nextTurn();
      fresh.stop();
      return sorted(sent.splice(before).flat());
    };
    /** A new view of the rows, as the host pass hands it over. */
    const observe = async (): Promise<void> => {
      view = viewFromRows(rows.rows(), view);
      const now = readAttachments(view);
      const same = now.size === attached.size && [...now].every(([id, a]) => attached.get(id) === a);
      if (!same) attached = now;
      marks.observe('h1', view, link);
      await nextTurn();
    };
    /** One step: what the incremental marks wrote equals a full plan; once applied, both plan nothing. */
    const step = async (name: string, change: () => void | Promise<void>): Promise<void> => {
      sent.length = 0;
      await change();
      await nextTurn();
      const wrote = sorted(sent.flat());
      sent.length = 0;
      assert.deepEqual(wrote, await fullPlan(), `${name}: what was written`);
      applyTo(rows, JSON.parse(`[${wrote.join(',')}]`) as Operation[]);
      await observe();
      assert.deepEqual(sorted(sent.flat()), [], `${name}: nothing more to write once the host shows it`);
      sent.length = 0;
      assert.deepEqual(await fullPlan(), [], `${name}: a full plan agrees`);
    };

    await step('first view: the missing endpoint and the unbindable interface', () => observe());
    assert.match(rows.externalIds(missing)['plexus-error'] ?? '', /ep4 does not exist/);
    await step('ep1 bound here (no MAC given: plexus-mac)', () => put('binding', 'ep1', bind('ep1', 'h1', 11)));
    assert.equal(rows.externalIds(ifs[0]!)['plexus-mac'], '02:00:00:00:00:01');
    await step('ep2 is bound on another host: plexus-installed goes', () => put('binding', 'ep2', bind('ep2', 'h2', 3)));
    assert.equal(rows.externalIds(ifs[1]!)['plexus-installed'], undefined);
    await step('ep4 created, then bound here', async () => {
      put('endpoint', 'A/ep4', ep('ep4', 'A', '02:00:00:00:00:04', '10.0.0.14'));
      await nextTurn();
      put('binding', 'ep4', bind('ep4', 'h1', 14));
    });
    assert.equal(rows.externalIds(missing)['plexus-error'], undefined);
    await step('ep3 refused (the observer says why, and asks for a write)', () => {
      problems.set('ep3', { reason: 'address 10.0.0.13 is taken', taken: false, sinceMs: 0 });
      marks.write('h1');
    });
    await step('ep3 bound after all', () => {
      problems.delete('ep3');
      marks.write('h1');
      put('binding', 'ep3', bind('ep3', 'h1', 13));
    });
    await step('a status-only change of ep3', () => put('binding', 'ep3', { ...bind('ep3', 'h1', 13), status: 'installed' } as Binding));
    await step('ep1 deleted', () => del('endpoint', 'A/ep1'));
    await step('tap-3 renumbered and its plexus-endpoint removed by hand', () => {
      const ids = rows.externalIds(ifs[2]!);
      delete ids['plexus-endpoint'];
      rows.setExternalIds(ifs[2]!, ids);
      rows.change('Interface', ifs[2]!, { ofport: 23 });
      return observe();
    });
    await step('tap-4 now names ep3 too (a duplicate)', () => {
      rows.setExternalIds(missing, { 'iface-id': 'ep3' });
      return observe();
    });
    marks.stop();
  });
});
