import assert from 'node:assert/strict';
import {
  AddressError,
  AddressExhaustedError,
  canonicalCidr,
  canonicalIp,
  canonicalMac,
  cidrContains,
  cidrsOverlap,
  defaultAllocationPools,
  defaultGateway,
  generateMac,
  nextFitOrder,
  nextFreeAddress,
  poolSize,
  reservedReason,
  validateAllocationPools,
  validateGateway,
  type AddressPlan,
} from '../../../src/store/ipam';

function plan(cidr: string, gateway: string | null = defaultGateway(cidr)): AddressPlan {
  return { cidr, gateway, allocationPools: defaultAllocationPools(cidr, gateway) };
}

describe('ipam', () => {
  describe('canonical forms', () => {
    const cases: [string, string][] = [
      ['192.168.200.0/24', '192.168.200.0/24'],
      ['192.168.200.77/24', '192.168.200.0/24'],
      ['10.1.2.3/8', '10.0.0.0/8'],
      ['10.1.2.3/32', '10.1.2.3/32'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['2001:DB8::5/64', '2001:db8::/64'],
      ['2001:0db8:0000:0000:0001:0000:0000:0000/96', '2001:db8:0:0:1::/96'],
      ['fd00:1:2:3:4:5:6:7/127', 'fd00:1:2:3:4:5:6:6/127'],
      ['::/0', '::/0'],
    ];
    for (const [input, want] of cases) it(`${input} → ${want}`, () => assert.equal(canonicalCidr(input), want));

    const ips: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:1:1:1:1:1:0', '2001:db8:1:1:1:1:1:0'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      [' 10.0.0.1 ', '10.0.0.1'],
    ];
    for (const [input, want] of ips) it(`address ${input.trim()} → ${want}`, () => assert.equal(canonicalIp(input), want));

    for (const bad of ['10.0.0.0/33', '10.0.0.0', '10.0.0/24', 'x/24', '2001:db8::/129', '300.1.1.1/8', '10.0.0.0/-1', 'fe80::1%eth0/64']) {
      it(`rejects ${bad}`, () => assert.throws(() => canonicalCidr(bad), AddressError));
    }
  });

  describe('contains and overlap', () => {
    it('contains', () => {
      assert.equal(cidrContains('192.168.200.0/24', '192.168.200.255'), true);
      assert.equal(cidrContains('192.168.200.0/24', '192.168.201.0'), false);
      assert.equal(cidrContains('2001:db8::/64', '2001:db8::ffff'), true);
      assert.equal(cidrContains('2001:db8::/64', '2001:db8:0:1::1'), false);
      assert.equal(cidrContains('10.0.0.0/8', '::ffff:10.0.0.1'), false, 'versions differ');
      assert.equal(cidrContains('10.0.0.5/32', '10.0.0.5'), true);
    });
    const overlaps: [string, string, boolean][] = [
      ['10.0.0.0/24', '10.0.0.0/25', true],
      ['10.0.0.0/25', '10.0.0.128/25', false],
      ['10.0.0.0/8', '10.200.0.0/16', true],
      ['10.0.0.0/24', '10.0.1.0/24', false],
      ['2001:db8::/64', '2001:db8::/48', true],
      ['2001:db8::/64', '2001:db8:0:1::/64', false],
      ['10.0.0.0/24', '2001:db8::/64', false],
    ];
    for (const [a, c, want] of overlaps) it(`${a} ∩ ${c}: ${want}`, () => {
      assert.equal(cidrsOverlap(a, c), want);
      assert.equal(cidrsOverlap(c, a), want);
    });
  });

  describe('gateway and pools', () => {
    const table: [string, string | null, { start: string; end: string }[]][] = [
      ['192.168.200.0/24', '192.168.200.1', [{ start: '192.168.200.2', end: '192.168.200.254' }]],
      ['10.0.0.0/30', '10.0.0.1', [{ start: '10.0.0.2', end: '10.0.0.2' }]],
      ['10.0.0.0/31', '10.0.0.0', [{ start: '10.0.0.1', end: '10.0.0.1' }]],
      ['10.0.0.7/32', null, [{ start: '10.0.0.7', end: '10.0.0.7' }]],
      ['2001:db8::/64', '2001:db8::1', [{ start: '2001:db8::2', end: '2001:db8::ffff:ffff:ffff:ffff' }]],
      ['2001:db8::/126', '2001:db8::1', [{ start: '2001:db8::2', end: '2001:db8::3' }]],
      ['2001:db8::/127', '2001:db8::', [{ start: '2001:db8::1', end: '2001:db8::1' }]],
      ['2001:db8::5/128', null, [{ start: '2001:db8::5', end: '2001:db8::5' }]],
    ];
    for (const [cidr, gw, pools] of table) {
      it(`${cidr}: gateway ${gw}, pools ${pools.map((p) => `${p.start}-${p.end}`).join(',')}`, () => {
        assert.equal(defaultGateway(cidr), gw);
        assert.deepEqual(defaultAllocationPools(cidr, gw), pools);
      });
    }

    it('splits the pool around a gateway in the middle, and uses everything without one', () => {
      assert.deepEqual(defaultAllocationPools('10.0.0.0/29', '10.0.0.4'), [
        { start: '10.0.0.1', end: '10.0.0.3' },
        { start: '10.0.0.5', end: '10.0.0.6' },
      ]);
      assert.deepEqual(defaultAllocationPools('10.0.0.0/29', null), [{ start: '10.0.0.1', end: '10.0.0.6' }]);
    });

    it('validates a gateway: inside, not network, broadcast or anycast', () => {
      assert.equal(validateGateway('10.0.0.0/24', '10.0.0.254'), '10.0.0.254');
      assert.throws(() => validateGateway('10.0.0.0/24', '10.0.1.1'), /outside 10\.0\.0\.0\/24/);
      assert.throws(() => validateGateway('10.0.0.0/24', '10.0.0.0'), /network address/);
      assert.throws(() => validateGateway('10.0.0.0/24', '10.0.0.255'), /broadcast address/);
      assert.throws(() => validateGateway('2001:db8::/64', '2001:db8::'), /subnet-router anycast/);
      assert.equal(validateGateway('2001:db8::/64', '2001:DB8::FFFF'), '2001:db8::ffff');
      assert.equal(validateGateway('10.0.0.0/31', '10.0.0.1'), '10.0.0.1', 'no network/broadcast in a /31');
      assert.throws(() => validateGateway('10.0.0.0/24', '2001:db8::1'), /outside/);
    });

    it('validates explicit pools', () => {
      assert.deepEqual(
        validateAllocationPools('10.0.0.0/24', '10.0.0.1', [
          { start: '10.0.0.100', end: '10.0.0.199' },
          { start: '10.0.0.10', end: '10.0.0.19' },
        ]),
        [
          { start: '10.0.0.10', end: '10.0.0.19' },
          { start: '10.0.0.100', end: '10.0.0.199' },
        ],
      );
      const bad: [{ start: string; end: string }[], RegExp][] = [
        [[{ start: '10.0.0.20', end: '10.0.0.10' }], /starts after it ends/],
        [[{ start: '10.0.0.0', end: '10.0.0.10' }], /not inside the host addresses/],
        [[{ start: '10.0.0.250', end: '10.0.0.255' }], /not inside the host addresses/],
        [[{ start: '10.0.1.1', end: '10.0.1.10' }], /not inside/],
        [[{ start: '10.0.0.1', end: '10.0.0.10' }], /contains the gateway/],
        [[{ start: '10.0.0.2', end: '10.0.0.10' }, { start: '10.0.0.10', end: '10.0.0.20' }], /overlaps/],
        [[{ start: '2001:db8::1', end: '2001:db8::2' }], /not IPv4/],
      ];
      for (const [pools, re] of bad) assert.throws(() => validateAllocationPools('10.0.0.0/24', '10.0.0.1', pools), re);
    });

    it('names reserved addresses', () => {
      const p = plan('10.0.0.0/24');
      assert.match(reservedReason(p, '10.0.0.1') ?? '', /gateway/);
      assert.match(reservedReason(p, '10.0.0.0') ?? '', /network address/);
      assert.match(reservedReason(p, '10.0.0.255') ?? '', /broadcast/);
      assert.equal(reservedReason(p, '10.0.0.77'), undefined);
      assert.match(reservedReason(plan('2001:db8::/64'), '2001:db8::') ?? '', /anycast/);
      assert.equal(reservedReason(plan('10.0.0.0/31'), '10.0.0.1'), undefined);
    });
  });

  describe('nextFitOrder', () => {
    const p: AddressPlan = {
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      allocationPools: [
        { start: '10.0.0.10', end: '10.0.0.12' },
        { start: '10.0.0.20', end: '10.0.0.21' },
      ],
    };
    it('starts after the cursor, crosses pools and wraps round once', () => {
      assert.deepEqual([...nextFitOrder(p)], ['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.20', '10.0.0.21']);
      assert.deepEqual([...nextFitOrder(p, '10.0.0.11')], ['10.0.0.12', '10.0.0.20', '10.0.0.21', '10.0.0.10', '10.0.0.11']);
      assert.deepEqual([...nextFitOrder(p, '10.0.0.21')], ['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.20', '10.0.0.21']);
    });
    it('starts at the first pool address when the cursor is outside the pools or not an address', () => {
      for (const c of ['10.0.0.15', '10.0.0.1', '2001:db8::1', 'junk']) assert.equal(nextFitOrder(p, c).next().value, '10.0.0.10', c);
    });
    it('never yields the gateway, network or broadcast address', () => {
      const all = [...nextFitOrder(plan('10.0.0.0/29'), '10.0.0.4')];
      assert.deepEqual(all, ['10.0.0.5', '10.0.0.6', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    });
  });

  describe('nextFreeAddress', () => {
    it('is first fit across pools', () => {
      const p: AddressPlan = {
        cidr: '10.0.0.0/24',
        gateway: '10.0.0.1',
        allocationPools: [
          { start: '10.0.0.10', end: '10.0.0.11' },
          { start: '10.0.0.20', end: '10.0.0.21' },
        ],
      };
      assert.equal(nextFreeAddress(p, new Set()), '10.0.0.10');
      assert.equal(nextFreeAddress(p, new Set(['10.0.0.10'])), '10.0.0.11');
      assert.equal(nextFreeAddress(p, new Set(['10.0.0.10', '10.0.0.11'])), '10.0.0.20');
      assert.equal(nextFreeAddress(p, new Set(['10.0.0.10']), { skip: 1 }), '10.0.0.20');
      assert.equal(nextFreeAddress(p, new Set(), { skip: 99 }), '10.0.0.21', 'a skip past the end takes the last free one');
      assert.throws(
        () => nextFreeAddress(p, new Set(['10.0.0.10', '10.0.0.11', '10.0.0.20', '10.0.0.21'])),
        (err: unknown) => err instanceof AddressExhaustedError && /no free address left in 10\.0\.0\.0\/24/.test(err.message),
      );
    });

    it('handles /31, /32, /127, /128', () => {
      assert.equal(nextFreeAddress(plan('10.0.0.0/31'), new Set()), '10.0.0.1');
      assert.throws(() => nextFreeAddress(plan('10.0.0.0/31'), new Set(['10.0.0.1'])), AddressExhaustedError);
      assert.equal(nextFreeAddress(plan('10.0.0.9/32'), new Set()), '10.0.0.9');
      assert.throws(() => nextFreeAddress(plan('10.0.0.9/32'), new Set(['10.0.0.9'])), AddressExhaustedError);
      assert.equal(nextFreeAddress(plan('2001:db8::/127'), new Set()), '2001:db8::1');
      assert.equal(nextFreeAddress(plan('2001:db8::7/128'), new Set()), '2001:db8::7');
    });

    it('allocates in a /64 with bounded work and canonical text', () => {
      const p = plan('2001:db8:0:1::/64');
      assert.equal(poolSize(p), 2n ** 64n - 2n);
      const taken = new Set<string>();
      for (let i = 0; i < 300; i++) taken.add(nextFreeAddress(p, taken));
      assert.equal(taken.size, 300);
      assert.ok(taken.has('2001:db8:0:1::2'));
      assert.ok(taken.has('2001:db8:0:1::12d'));
      const t0 = Date.now();
      nextFreeAddress(p, taken);
      assert.ok(Date.now() - t0 < 200, 'work proportional to the taken set');
    });

    it('exhausts a /30 after its only host address', () => {
      const p = plan('10.0.0.0/30');
      assert.equal(nextFreeAddress(p, new Set()), '10.0.0.2');
      assert.throws(() => nextFreeAddress(p, new Set(['10.0.0.2'])), /no free address left in 10\.0\.0\.0\/30 \(pools 10\.0\.0\.2-10\.0\.0\.2\)/);
    });
  });

  describe('MACs', () => {
    it('canonicalizes and validates', () => {
      assert.equal(canonicalMac('02:AA:00:00:00:01'), '02:aa:00:00:00:01');
      assert.equal(canonicalMac('02-aa-00-00-00-01'), '02:aa:00:00:00:01');
      assert.throws(() => canonicalMac('01:00:5e:00:00:01'), /multicast/);
      assert.throws(() => canonicalMac('ff:ff:ff:ff:ff:ff'), /multicast/);
      assert.throws(() => canonicalMac('00:00:00:00:00:00'), /not a valid/);
      assert.throws(() => canonicalMac('02:aa:00:00:00'), /not a MAC/);
      assert.throws(() => canonicalMac('02:aa-00:00:00:01'), /not a MAC/);
    });

    it('generates locally administered unicast, lower case, random', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const mac = generateMac();
        assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        const first = parseInt(mac.slice(0, 2), 16);
        assert.equal(first & 0x02, 0x02, 'locally administered');
        assert.equal(first & 0x01, 0, 'unicast');
        assert.equal(canonicalMac(mac), mac);
        seen.add(mac);
      }
      assert.equal(seen.size, 2000);
    });

    it('fixes the bits of any random input and avoids the DHCP server range', () => {
      assert.equal(generateMac(() => Buffer.from([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05');
      assert.equal(generateMac(() => Buffer.from([0x00, 1, 2, 3, 4, 5])), '02:01:02:03:04:05');
      let n = 0;
      const mac = generateMac(() => (n++ === 0 ? Buffer.from([0x0a, 0, 0, 0, 0, 1]) : Buffer.from([0x0a, 0, 1, 0, 0, 1])));
      assert.equal(mac, '0a:00:01:00:00:01');
    });
  });
});
