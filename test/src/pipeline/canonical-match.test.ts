/** Canonical matches: equal exactly when Open vSwitch would store the same match. */
import assert from 'node:assert/strict';
import type { Match } from '../../../protocols/openflow/match';
import { canonicalizeMatch, isMatchProblem, type CanonicalMatch } from '../../../src/pipeline/canonical-match';

function canon(match: Match): CanonicalMatch {
  const c = canonicalizeMatch(match);
  assert.ok(!isMatchProblem(c), JSON.stringify(c));
  return c;
}

describe('pipeline: canonical match', () => {
  const ip: Match = [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_src', value: '10.0.0.1' }, { field: 'reg0', value: 5 }];

  it('does not depend on the order of the entries', () => {
    assert.equal(canon(ip).key, canon([...ip].reverse()).key);
    assert.notEqual(canon(ip).key, canon([...ip.slice(0, 2), { field: 'reg0', value: 6 }]).key);
  });

  it('treats an all-ones mask as an exact match and drops an all-zeros one, as OVS stores them', () => {
    const exact = canon([{ field: 'reg1', value: 1 }]);
    const ones = canon([{ field: 'reg1', value: 1, mask: 0xffffffff }]);
    assert.equal(ones.key, exact.key);
    assert.deepEqual(ones.match, [{ field: 'reg1', value: 1 }]);
    const zeros = canon([{ field: 'reg1', value: 0, mask: 0 }, { field: 'reg0', value: 5 }]);
    assert.equal(zeros.key, canon([{ field: 'reg0', value: 5 }]).key);
    assert.deepEqual(zeros.match, [{ field: 'reg0', value: 5 }]);
  });

  it('keeps a real mask, distinct from the exact match', () => {
    const masked = canon([{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }]);
    assert.notEqual(masked.key, canon([{ field: 'eth_dst', value: '01:00:00:00:00:00' }]).key);
    assert.equal(masked.fields.get('eth_dst')!.mask!.toString('hex'), '010000000000');
  });

  it('reports a duplicate field and a missing or masked prerequisite', () => {
    assert.deepEqual(canonicalizeMatch([{ field: 'reg0', value: 1 }, { field: 'reg0', value: 2 }]), { problem: 'duplicate-field', field: 'reg0' });
    assert.deepEqual(canonicalizeMatch([{ field: 'ip_src', value: '10.0.0.1' }]), { problem: 'missing-prerequisite', field: 'ip_src' });
    assert.deepEqual(canonicalizeMatch([{ field: 'eth_type', value: 0x0806 }, { field: 'ip_src', value: '10.0.0.1' }]), { problem: 'missing-prerequisite', field: 'ip_src' });
    assert.deepEqual(
      canonicalizeMatch([{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }, { field: 'nd_target', value: '::1' }]),
      { problem: 'missing-prerequisite', field: 'nd_target' },
    );
    assert.ok(!isMatchProblem(canonicalizeMatch([{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 135 }, { field: 'nd_target', value: '::1' }])));
  });

  it('gives every address spelling of the same bytes the same key', () => {
    const v6 = (a: string): string => canon([{ field: 'eth_type', value: 0x86dd }, { field: 'ipv6_src', value: a }]).key;
    assert.equal(v6('2001:db8:0:0:0:0:0:1'), v6('2001:db8::1'));
    assert.equal(v6('::ffff:192.0.2.1'), v6('::ffff:c000:201'));
  });
});
