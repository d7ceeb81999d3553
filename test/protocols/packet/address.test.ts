import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncodeError } from '../../../protocols/common/errors';
import {
  bigIntToBytes,
  bytesToBigInt,
  formatIpv4,
  formatIpv6,
  formatMac,
  ipVersionOf,
  normalizeIpv6,
  normalizeMac,
  parseIpv4,
  parseIpv6,
  parseMac,
} from '../../../protocols/packet/address';

describe('packet/address', () => {
  it('formats and parses MACs in lowercase', () => {
    assert.equal(formatMac(Buffer.from('0A1b2C3d4E5f', 'hex')), '0a:1b:2c:3d:4e:5f');
    assert.equal(normalizeMac('AA:BB:CC:DD:EE:FF'), 'aa:bb:cc:dd:ee:ff');
    assert.deepEqual(parseMac('02:00:00:00:00:01'), Buffer.from('020000000001', 'hex'));
    for (const bad of ['02:00:00:00:00', '02-00-00-00-00-01', '02:00:00:00:00:0g', '']) {
      assert.throws(() => parseMac(bad), EncodeError, bad);
    }
  });

  it('formats and parses IPv4 dotted quads', () => {
    assert.equal(formatIpv4(Buffer.from([192, 0, 2, 255])), '192.0.2.255');
    assert.deepEqual([...parseIpv4('10.0.0.1')], [10, 0, 0, 1]);
    for (const bad of ['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d']) {
      assert.throws(() => parseIpv4(bad), EncodeError, bad);
    }
  });

  it('prints IPv6 in the RFC 5952 canonical form', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:DB8::ABCD', '2001:db8::abcd'], // §4.3 lowercase
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a single 0 is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.1 longest run
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['fe80:0:0:0:0:0:0:0', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5 mapped addresses keep the dotted tail
      ['::ffff:c000:201', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['ff02::1:ff00:2', 'ff02::1:ff00:2'],
    ];
    for (const [input, canonical] of cases) assert.equal(normalizeIpv6(input), canonical, input);
  });

  it('parses every text form back to the same bytes', () => {
    const bytes = Buffer.from('20010db8000000000001000000000001', 'hex');
    assert.equal(formatIpv6(bytes), '2001:db8::1:0:0:1');
    assert.deepEqual(parseIpv6('2001:db8:0:0:1::1'), bytes);
    assert.deepEqual(parseIpv6('2001:db8::1:0:0:1'), bytes);
  });

  it('refuses malformed IPv6 text', () => {
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '::1.2.3', ':1::', '1:2:3:4:5:6:7::8', 'fe80::1%eth0']) {
      assert.throws(() => parseIpv6(bad), EncodeError, bad);
    }
  });

  it('prints every IPv6 address as ovs-ofctl does, IPv4-mapped and IPv4-compatible ones included @slow', function () {
    this.timeout(10_000);
    // Edges of the dotted-tail rule and of zero-run compression, plus random addresses with zero runs.
    const edges = ['::', '::1', '::2', '::0.0.1.2', '::0.1.0.0', '::1.2.3.4', '::ffff', '::ffff:1', '::ffff:0:0', '::ffff:1.2.3.4',
      '::ffff:0:1.2.3.4', '::1:ffff:1.2.3.4', '::1:0:0', '::1:0:1', '1::', '1:0:0:2::3', '1::2:2:0:0:3', '2001:db8::1:0:0:1',
      '64:ff9b::c000:221', 'fe80::ff:fe00:b01', 'ff02::1:ff00:12', '1:2:3:4:5:6:7:8', '0:1:0:1:0:1:0:1'];
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const random = Array.from({ length: 60 }, () => {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i += 2) if (rand() < 0.4) b.writeUInt16BE(Math.floor(rand() * 0x10000), i);
      return formatIpv6(b);
    });
    const all = [...edges, ...random];
    const dir = mkdtempSync(join(tmpdir(), 'plexus-addr-'));
    try {
      const file = join(dir, 'flows');
      writeFileSync(file, all.map((a) => `ipv6,ipv6_src=${a},actions=drop\n`).join(''));
      const out = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flows', file], { encoding: 'utf8' });
      const printed = [...out.matchAll(/ipv6_src=([0-9a-f:.]+)/g)].map((m) => m[1]);
      assert.deepEqual(all.map((a) => formatIpv6(parseIpv6(a))), printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells the family of an address, strictly', () => {
    assert.deepEqual(['10.0.0.1', '2001:db8::1', '::ffff:10.0.0.1', '10.0.0.01', '10.0.0', 'fe80::1%eth0', '', 'x'].map(ipVersionOf), [4, 6, 6, undefined, undefined, undefined, undefined, undefined]);
  });

  it('converts address bytes to integers and back', () => {
    const v6 = parseIpv6('2001:db8::ff');
    assert.equal(bytesToBigInt(v6), 0x20010db80000000000000000000000ffn);
    assert.deepEqual(bigIntToBytes(0x20010db80000000000000000000000ffn, 16), v6);
    assert.deepEqual(bigIntToBytes(bytesToBigInt(parseIpv4('192.0.2.255')), 4), parseIpv4('192.0.2.255'));
    assert.throws(() => bigIntToBytes(1n << 32n, 4), EncodeError);
  });
});
