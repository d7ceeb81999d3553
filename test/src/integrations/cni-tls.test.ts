import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../../src/cli/client';
import { main as plexusctl } from '../../../src/cli/plexusctl';
import { runCni } from '../../../src/integrations/cni/main';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { makePki, type Pki } from '../../support/certs';

/**
 * plexus-cni through plexusctl's API client (SPEC §6, §7): against a plexusd
 * serving HTTPS with client certificates, the configuration's caFile, certFile
 * and keyFile are what lets STATUS reach it; without them Plexus is not
 * available (code 50), and a caFile that does not exist is a configuration
 * error (code 7).
 */
describe('plexus-cni against an HTTPS plexusd with client certificates @slow', function () {
  this.timeout(120_000);
  let pki: Pki;
  let plexusd: PlexusdProcess;
  let ovs: OvsHost;
  let base: Record<string, unknown>;
  let files: { caFile: string; certFile: string; keyFile: string };

  before(async () => {
    pki = makePki();
    const ca = await pki.ca('ca');
    const server = await pki.leaf(ca, 'plexusd', 'server');
    const client = await pki.leaf(ca, 'cni', 'client');
    files = { caFile: ca.cert, certFile: client.cert, keyFile: client.key };
    plexusd = await PlexusdProcess.start({
      memberId: 'cni-tls',
      extraArgs: ['--tls-cert', server.cert, '--tls-key', server.key, '--tls-ca', ca.cert],
      readyProbe: async (q) => {
        const api = new ApiClient({ url: `https://127.0.0.1:${q.ports.api}`, cacert: files.caFile, cert: files.certFile, key: files.keyFile });
        return api.call('GET', 'v1/ready').then(() => true, () => false);
      },
    });
    ovs = await OvsHost.start({ name: 'cni-tls' });
    await ovs.vsctl('add-br', 'br-int');
    base = { cniVersion: '1.1.0', name: 'tlsnet', type: 'plexus-cni', network: 'tlsnet', plexusUrl: `https://127.0.0.1:${plexusd.ports.api}`, ovsdb: `unix:${ovs.dbSock}` };
  });

  after(async () => {
    await ovs?.stop();
    await plexusd?.destroy();
    pki?.remove();
  });

  function cni(command: string, config: Record<string, unknown>): Promise<{ code: number; stdout: string }> {
    // The plugin entry of a conflist lacks name and cniVersion: the runtime copies them in (base has them).
    return runCni({ CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' }, JSON.stringify({ ...base, ...config }));
  }

  it('plexusctl --cacert --cert --key install cni writes caFile, certFile and keyFile; STATUS reaches Plexus with them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-cni-tls-'));
    try {
      const code = await plexusctl(['--url', String(base['plexusUrl']), '--cacert', files.caFile, '--cert', files.certFile, '--key', files.keyFile,
        'install', 'cni', '--dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d'), '--network', 'tlsnet', '--cni-version', '1.1.0']);
      assert.equal(code, 0);
      const conflist = JSON.parse(readFileSync(join(dir, 'net.d', '50-tlsnet.conflist'), 'utf8')) as { plugins: Record<string, unknown>[] };
      const plugin = conflist.plugins[0]!;
      assert.deepEqual([plugin['caFile'], plugin['certFile'], plugin['keyFile']], [files.caFile, files.certFile, files.keyFile]);
      const r = await cni('STATUS', plugin);
      assert.deepEqual(r, { code: 0, stdout: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without them Plexus is not available (50); a missing caFile is a configuration error (7)', async () => {
    const untrusted = await cni('STATUS', {});
    assert.equal(untrusted.code, 1);
    assert.equal(JSON.parse(untrusted.stdout).code, 50);
    assert.match(JSON.parse(untrusted.stdout).msg, /Plexus is not available: cannot reach plexusd/);
    const noCert = await cni('STATUS', { caFile: files.caFile });
    assert.equal(JSON.parse(noCert.stdout).code, 50, 'the server asks for a client certificate');
    const missing = await cni('STATUS', { ...files, caFile: '/nonexistent/ca.pem' });
    assert.equal(JSON.parse(missing.stdout).code, 7, missing.stdout);
  });
});
