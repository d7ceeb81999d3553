/** The pipeline declaration checks itself when it is linked. */
import assert from 'node:assert/strict';
import { declareTable, linkPipeline, PIPELINE, PipelineError, STAGE, type TableSpec } from '../../../src/pipeline/tables';

const spec = (over: Partial<TableSpec<string>>): TableSpec<string> => ({
  name: 't', id: 0, stage: STAGE.CLASSIFY, purpose: 'test', matchFields: {}, priorities: {}, miss: 'drop', next: [], ...over,
});
const link = (...specs: Partial<TableSpec<string>>[]) => () => linkPipeline(specs.map((s) => declareTable(spec(s))));

describe('pipeline: tables', () => {
  it('declares the SPEC §4 tables in order, each continuing only forward, misses among its next tables', () => {
    assert.deepEqual(PIPELINE.map((t) => `${t.id} ${t.name}`), ['0 classify', '10 port-security', '20 arp-nd-dhcp', '30 egress-policy', '31 egress-policy-eval', '40 l3', '41 nat-out', '42 nat-in', '43 external-out', '44 nat-in-route', '45 l3-neighbor', '50 l2', '60 ingress-policy', '61 ingress-policy-eval', '70 output']);
    for (const t of PIPELINE) {
      assert.ok(t.next.every((n) => n.id > t.id), t.name);
      if (t.miss.kind === 'goto') assert.ok(t.next.includes(t.miss.table), t.name);
    }
  });

  it('links a well-formed declaration', () => {
    const [a, b] = link({ name: 'a', id: 0, next: ['b'], miss: 'b', priorities: { x: 10 } }, { name: 'b', id: 5 })();
    assert.equal(a!.miss.kind === 'goto' && a!.miss.table, b);
    assert.deepEqual([...a!.nextIds], [5]);
  });

  it('throws PipelineError for a declaration that breaks its own rules', () => {
    const cases: [Partial<TableSpec<string>>[], RegExp][] = [
      [[{ name: 'a', id: 0 }, { name: 'a', id: 1 }], /declares table a twice/],
      [[{ name: 'a', id: 3 }, { name: 'b', id: 3 }], /table b \(3\) must come after a \(3\)/],
      [[{ name: 'a', id: 254 }], /id 254 is not 0..253/],
      [[{ name: 'a', id: 0, next: ['zz'] }], /continues to zz, which the pipeline does not declare/],
      [[{ name: 'a', id: 0 }, { name: 'b', id: 1, next: ['a'] }], /b continues to a: a table may only continue to a later one/],
      [[{ name: 'a', id: 0, miss: 'b' }, { name: 'b', id: 1 }], /a misses to b, which is not one of its next tables/],
      [[{ name: 'a', id: 0, priorities: { low: 0 } }], /priority low = 0 must be in 1..65535/],
    ];
    for (const [specs, message] of cases) assert.throws(link(...specs), (e: unknown) => e instanceof PipelineError && message.test(e.message), String(message));
  });

  it('refuses to link a table twice', () => {
    const t = declareTable(spec({ name: 'once' }));
    linkPipeline([t]);
    assert.throws(() => linkPipeline([t]), /already in a pipeline/);
  });
});
