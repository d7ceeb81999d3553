import assert from 'node:assert/strict';
import { EncodeError } from '../../../protocols/common/errors';
import {
  formatIpv4,
  formatIpv6,
  formatMac,
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
});
