import assert from 'node:assert/strict';
import { DEFAULT_PROBE_POLICY, nextProbeMs, probeStepFor } from '../../../src/southbound/probe-sizing';

describe('inactivity probe sized for the fleet (probe-sizing)', function () {
  it('grows in steps with the hosts connected, from the floor to the ceiling', function () {
    const policy = DEFAULT_PROBE_POLICY;
    assert.equal(probeStepFor(0, policy), 5000);
    assert.equal(probeStepFor(250, policy), 5000);
    assert.equal(probeStepFor(251, policy), 10_000);
    assert.equal(probeStepFor(1000, policy), 20_000);
    assert.equal(probeStepFor(1001, policy), 40_000);
    assert.equal(probeStepFor(100_000, policy), 60_000);
    assert.equal(probeStepFor(5000, { minMs: 3000, maxMs: 7000, perHostMs: 1 }), 6000);
    assert.equal(probeStepFor(6500, { minMs: 3000, maxMs: 7000, perHostMs: 1 }), 7000);
    assert.equal(probeStepFor(10_000, { minMs: 5000, maxMs: 5000, perHostMs: 20 }), 5000, 'min = max: a fixed probe');
  });

  it('changes a handful of times while 1,000 hosts join one by one and leave again, not per host', function () {
    let probeMs = nextProbeMs(0, 0, DEFAULT_PROBE_POLICY);
    const values = [probeMs];
    for (let hosts = 1; hosts <= 1000; hosts++) {
      const next = nextProbeMs(probeMs, hosts, DEFAULT_PROBE_POLICY);
      if (next !== probeMs) values.push((probeMs = next));
    }
    assert.deepEqual(values, [5000, 10_000, 20_000]);
    for (let hosts = 999; hosts >= 0; hosts--) {
      const next = nextProbeMs(probeMs, hosts, DEFAULT_PROBE_POLICY);
      if (next !== probeMs) values.push((probeMs = next));
    }
    assert.deepEqual(values, [5000, 10_000, 20_000, 10_000, 5000]);
  });

  it('does not flap around a step boundary: down only once the fleet shrank by a third', function () {
    let probeMs = nextProbeMs(5000, 501, DEFAULT_PROBE_POLICY);
    assert.equal(probeMs, 20_000);
    for (let i = 0; i < 10; i++) {
      probeMs = nextProbeMs(probeMs, 500, DEFAULT_PROBE_POLICY);
      assert.equal(probeMs, 20_000);
      probeMs = nextProbeMs(probeMs, 501, DEFAULT_PROBE_POLICY);
      assert.equal(probeMs, 20_000);
    }
    assert.equal(nextProbeMs(20_000, 334, DEFAULT_PROBE_POLICY), 20_000);
    assert.equal(nextProbeMs(20_000, 333, DEFAULT_PROBE_POLICY), 10_000);
  });
});
