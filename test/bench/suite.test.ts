/**
 * The bench suite's table (bench/suite.ts): it reads each child run's summary
 * line back and says, per goal, whether the run met it. A goal judged wrongly
 * would put a false "yes" in the README's table, so the judging is tested here.
 */
import assert from 'node:assert/strict';
import { formatSummary } from '../../bench/framework';
import { growthTable, parseSummary, suiteTable, SUITE_ROWS, SUITE_STEPS, type SuiteOutcomes } from '../../bench/suite';

const rowOf = (table: string, what: string): string[] => {
  const line = table.split('\n').find((l) => l.startsWith(`| ${what}`));
  assert.ok(line, `no row "${what}" in\n${table}`);
  return line.split('|').map((c) => c.trim());
};

describe('bench suite', () => {
  it('reads a summary line back into the figures it was written from', () => {
    const figures = { local_p50_ms: 9.5, ratio: 1.12, ovn_burst_s: Number.NaN, peer: 'ovn' };
    const back = parseSummary(formatSummary('attach', figures));
    assert.equal(back.local_p50_ms, 9.5);
    assert.equal(back.ratio, 1.12);
    assert.ok(Number.isNaN(back.ovn_burst_s as number));
    assert.equal(back.peer, 'ovn');
  });

  it('judges each goal from the figures, and a missing figure never meets one', () => {
    const outcomes: SuiteOutcomes = {
      attach: {
        figures: {
          local_p50_ms: 9, local_p99_ms: 12, remote_p50_ms: 8, remote_p99_ms: 18,
          ovn_local_p50_ms: 160, ovn_local_p99_ms: 280, ovn_ratio_local_p50: 17.8, ovn_ratio_local_p99: 23.3,
          ovn_remote_p50_ms: 190, ovn_remote_p99_ms: 300, ovn_ratio_remote_p50: 23.8, ovn_ratio_remote_p99: 16.7,
          burst_s: 2, ovn_burst_s: 19, ovn_ratio_burst: 9.5,
        },
        seconds: 1, load1: 0.1,
      },
      packetin: { figures: { plexus_w1_per_s: 10, ovs_testcontroller_w1_per_s: 9, ratio_w1: 1.11, ratio_w8: 0.99 }, seconds: 1, load1: 0.1 },
      fleet: { error: 'exit 124: timed out | somewhere', seconds: 1, load1: 0.1 },
    };
    const table = suiteTable(outcomes);
    assert.equal(rowOf(table, 'attach 8 hosts × 800, local')[5], 'no', 'local p99 12 > 10');
    assert.equal(rowOf(table, 'attach 8 hosts × 800, remote')[5], 'yes');
    assert.equal(rowOf(table, 'attach 8 hosts × 800, burst')[5], 'no', '9.5× < 10×');
    assert.equal(rowOf(table, 'packet-in, DHCP answers, window 1 ')[5], 'yes');
    assert.equal(rowOf(table, 'packet-in, DHCP answers, window 8 ')[5], 'no');
    assert.equal(rowOf(table, 'packet-in, DHCP answers, window 32 ')[5], 'no', 'no figure: not met');
    const fleet = rowOf(table, '1,000 simulated hosts × 20,000: join');
    assert.match(fleet[2]!, /^failed: exit 124: timed out \/ somewhere$/);
    assert.equal(fleet[5], 'no');
    assert.ok(!table.includes('flowmod'), 'a step that did not run has no rows');
  });

  it('shows how the fleet grows, one row per fleet step that ran, failures included', () => {
    const table = growthTable({
      fleet10: { figures: { join_s: 5.8, local_p50_ms: 12, remote_p50_ms: 9, local_p99_ms: 40, remote_p99_ms: 30, burst_s: 1.5, rss_mib: 150, heap_used_mib: 60, rss_budget_mib: 41, etcd_db_per_endpoint_b: 2100, etcd_compacted_per_endpoint_b: 980 }, seconds: 1, load1: 0 },
      fleet: { error: 'exit 1: boom', seconds: 1, load1: 0 },
    });
    const rows = table.split('\n').slice(2);
    assert.equal(rows.length, 2);
    assert.equal(rows[0], '| 10 × 200 | 5.8 | 12 / 9 | 40 / 30 | 1.5 | 150 / 60 (41) | 2,100 / 980 |');
    assert.match(rows[1]!, /^\| 1000 × 20000 \| failed: exit 1: boom/);
    assert.equal(growthTable({ attach: { figures: {}, seconds: 1, load1: 0 } }), '', 'no fleet step: no table');
  });

  it('has a step for every row', () => {
    for (const row of SUITE_ROWS) assert.ok(SUITE_STEPS.some((s) => s.key === row.step), row.step);
  });
});
