import assert from 'node:assert/strict';
import { InvalidRequestError } from '../../../src/store/model-errors';
import { checkRateLimit } from '../../../src/store/qos-policy-store';
import { checkRule, defaultEgressRules } from '../../../src/store/security-rules';

const refused = (fn: () => unknown, field: RegExp) => assert.throws(fn, (e: unknown) => e instanceof InvalidRequestError && field.test(e.message), String(field));

describe('security group rules: checks naming the field', () => {
  it('stores a rule in canonical form (protocol numbers named, portMax defaulted, host bits cleared)', () => {
    const r = checkRule({ direction: 'ingress', protocol: 6, portMin: 80, remoteCidr: '10.1.2.3/16' });
    assert.deepEqual({ ...r, id: 'x' }, { id: 'x', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidr: '10.1.0.0/16' });
  });
  it('refuses a port range on ICMP, ICMP fields on TCP, a reversed range, wrong-family protocols and CIDRs, two remotes', () => {
    refused(() => checkRule({ direction: 'ingress', protocol: 'icmp', portMin: 1 }, 'rules[0]'), /^rules\[0\]\.portMin: a port range applies to tcp and udp only/);
    refused(() => checkRule({ direction: 'ingress', protocol: 'tcp', icmpType: 8 }), /^rule\.icmpType:/);
    refused(() => checkRule({ direction: 'ingress', protocol: 'udp', portMin: 90, portMax: 80 }), /^rule\.portMax: 80 is below portMin 90/);
    refused(() => checkRule({ direction: 'ingress', protocol: 'udp', portMax: 80 }), /^rule\.portMin: portMax needs portMin/);
    refused(() => checkRule({ direction: 'ingress', ethertype: 'IPv6', protocol: 'icmp' }), /^rule\.protocol: icmp is IPv4/);
    refused(() => checkRule({ direction: 'ingress', ethertype: 'IPv6', remoteCidr: '10.0.0.0/8' }), /^rule\.remoteCidr: 10\.0\.0\.0\/8 is IPv4, the rule is IPv6/);
    refused(() => checkRule({ direction: 'ingress', remoteCidr: 'nonsense' }), /^rule\.remoteCidr:/);
    refused(() => checkRule({ direction: 'ingress', remoteCidr: '10.0.0.0/8', remoteGroup: 'g' }), /^rule\.remoteGroup: give remoteCidr or remoteGroup, not both/);
    refused(() => checkRule({ direction: 'ingress', protocol: 300 }), /^rule\.protocol: 300 is not an IP protocol number/);
  });
  it('gives a new group Neutron\'s default egress rules', () => {
    assert.deepEqual(defaultEgressRules().map((r) => [r.direction, r.ethertype, r.protocol]), [['egress', 'IPv4', undefined], ['egress', 'IPv6', undefined]]);
  });
  it('refuses a QoS rate of 0, naming the field, and defaults the burst', () => {
    refused(() => checkRateLimit({ rateKbps: 0 }, 'egress'), /^egress\.rateKbps: 0 is not/);
    assert.deepEqual(checkRateLimit({ rateKbps: 10_000 }, 'egress'), { rateKbps: 10_000, burstKb: 1000 });
  });
});
