import assert from 'node:assert/strict';
import { containsIp, firstHost } from '../../../src/integrations/addresses';
import { endpointIdFor } from '../../../src/integrations/cni/commands';
import { CNI_ERROR, CniError, formatCniError, parseCniConfig, parseCniEnv } from '../../../src/integrations/cni/spec';
import { linkNamesFor } from '../../../src/integrations/ovs-port';
import { encodeNewc } from '../../../src/sandbox/initramfs';

const config = { cniVersion: '1.0.0', name: 'DockerSN', type: 'plexus-cni', network: 'DockerSN', plexusUrl: 'http://127.0.0.1:8181' };

describe('integrations: pure parts', () => {
  it('checks CNI_* variables per command (CNI spec "Parameters")', () => {
    const env = parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;IP=10.0.0.5' });
    assert.deepEqual(env.args, { IgnoreUnknown: '1', IP: '10.0.0.5' });
    assert.throws(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }), (e: CniError) => e.code === CNI_ERROR.INVALID_ENV && /CNI_NETNS/.test(e.message));
    assert.throws(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'this-is-too-long0' }), /not a valid interface name/);
    assert.throws(() => parseCniEnv({ CNI_COMMAND: 'FROB' }), (e: CniError) => e.code === CNI_ERROR.INVALID_ENV);
    assert.equal(parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }).netns, '', 'DEL without a namespace is allowed');
    assert.equal(parseCniEnv({ CNI_COMMAND: 'GC' }).command, 'GC');
  });

  it('validates the configuration with the spec\'s codes', () => {
    assert.equal(parseCniConfig(JSON.stringify(config)).network, 'DockerSN');
    const code = (text: string): number => {
      try {
        parseCniConfig(text);
        return 0;
      } catch (e) {
        return (e as CniError).code;
      }
    };
    assert.equal(code('{'), CNI_ERROR.DECODE_FAILURE);
    assert.equal(code(JSON.stringify({ ...config, cniVersion: '0.3.1' })), CNI_ERROR.INCOMPATIBLE_VERSION);
    assert.equal(code(JSON.stringify({ ...config, network: '' })), CNI_ERROR.INVALID_CONFIG);
    assert.equal(code(JSON.stringify({ ...config, securityGroups: 'web' })), CNI_ERROR.INVALID_CONFIG);
    assert.equal(code(JSON.stringify({ ...config, installTimeoutMs: -1 })), CNI_ERROR.INVALID_CONFIG);
  });

  it('prints the CNI error object', () => {
    const text = formatCniError(new CniError(11, 'Plexus unreachable', 'retry'), '1.1.0');
    assert.deepEqual(JSON.parse(text), { cniVersion: '1.1.0', code: 11, msg: 'Plexus unreachable', details: 'retry' });
  });

  it('derives stable, distinct endpoint ids and interface names that fit IFNAMSIZ', () => {
    const a = endpointIdFor('DockerSN', 'c1', 'eth0');
    assert.equal(a, endpointIdFor('DockerSN', 'c1', 'eth0'));
    assert.notEqual(a, endpointIdFor('DockerSN', 'c1', 'eth1'));
    assert.notEqual(a, endpointIdFor('Other', 'c1', 'eth0'));
    const n = linkNamesFor('pxd', 'x'.repeat(64));
    assert.ok(n.host.length <= 15 && n.peer.length <= 15 && n.host !== n.peer);
  });

  it('tests CIDR membership and finds the first host address', () => {
    assert.ok(containsIp('192.168.200.0/24', '192.168.200.254'));
    assert.ok(!containsIp('192.168.200.0/24', '192.168.201.1'));
    assert.ok(containsIp('fd00:200::/64', 'fd00:200::5'));
    assert.ok(!containsIp('192.168.200.0/24', 'fd00::1'));
    assert.ok(!containsIp('garbage', '1.2.3.4'));
    assert.equal(firstHost('192.168.200.0/24'), '192.168.200.1');
    assert.equal(firstHost('fd00:200::/64'), 'fd00:200::1');
  });

  it('writes newc cpio entries the way the kernel reads them', () => {
    const b = encodeNewc([{ name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') }]);
    assert.equal(b.subarray(0, 6).toString(), '070701');
    // header (110) + "init\0" padded to 4 → data at 116, then padded; trailer last.
    assert.equal(b.subarray(116, 126).toString(), '#!/bin/sh\n');
    assert.equal(parseInt(b.subarray(6 + 6 * 8, 6 + 7 * 8).toString(), 16), 10, 'filesize field');
    assert.ok(b.includes(Buffer.from('TRAILER!!!\0')));
    assert.equal(b.length % 4, 0);
  });
});
