import assert from 'node:assert/strict';
import { OFPMF } from '../../../protocols/openflow/constants';
import type { MeterConfig } from '../../../protocols/openflow/messages';
import { meterIdOf, type MeterSpec } from '../../../src/compiler/qos';
import { DesiredMeters, diffMeters, METER_FLAGS } from '../../../src/reconciler/meters';

const spec = (meterId: number, rateKbps: number, burstKb = 100, owner = `p/e${meterId}/egress`): MeterSpec => ({ meterId, rateKbps, burstKb, owner });
const installed = (meterId: number, rate: number, burstSize = 100, flags = METER_FLAGS): MeterConfig => ({ meterId, flags, bands: [{ type: 'drop', rate, burstSize }] });

describe('reconciler meters', () => {
  it('derives stable meter ids in 1..2^31-1, distinct per direction', () => {
    const a = meterIdOf('gold', 'ep1', 'egress');
    assert.equal(meterIdOf('gold', 'ep1', 'egress'), a);
    assert.notEqual(meterIdOf('gold', 'ep1', 'ingress'), a);
    assert.ok(a >= 1 && a < 2 ** 31);
  });

  it('diffs desired against installed: adds the missing, modifies a changed rate, burst or flags, deletes the unwanted', () => {
    const desired = new Map([[1, spec(1, 1000)], [2, spec(2, 2000)], [3, spec(3, 3000)], [4, spec(4, 4000)], [5, spec(5, 5000)]]);
    const have = new Map([
      [2, installed(2, 2000)],
      [3, installed(3, 3333)],
      [4, installed(4, 4000, 999)],
      [5, installed(5, 5000, 100, OFPMF.PKTPS | OFPMF.BURST)],
      [9, installed(9, 9000)],
    ]);
    const d = diffMeters(desired, have);
    assert.deepEqual(d.adds.map((m) => m.meterId), [1]);
    assert.deepEqual(d.modifies.map((m) => m.meterId), [3, 4, 5]);
    assert.deepEqual(d.deletes, [9]);
    assert.deepEqual(diffMeters(desired, new Map([...desired].map(([id, m]) => [id, installed(id, m.rateKbps)]))), { adds: [], modifies: [], deletes: [] });
  });

  it('keeps meters per partition, reports changes only, and flags two owners of one id', () => {
    const m = new DesiredMeters();
    assert.equal(m.setPartition('endpoint:a', [spec(1, 1000)]), true);
    assert.equal(m.setPartition('endpoint:a', [spec(1, 1000)]), false);
    assert.equal(m.setPartition('endpoint:b', []), false);
    assert.equal(m.setPartition('endpoint:b', [spec(1, 5000, 100, 'q/b/egress')]), false);
    assert.deepEqual(m.collisions, ['meter 1: p/e1/egress and q/b/egress']);
    assert.equal(m.meters.get(1)?.rateKbps, 1000);
    assert.equal(m.setPartition('endpoint:a', []), true);
    assert.equal(m.meters.get(1)?.owner, 'q/b/egress');
    assert.deepEqual(m.collisions, []);
  });
});
