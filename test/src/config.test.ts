import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCommand, ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'plexus-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has the defaults of SPEC §11', () => {
    const c = loadConfig([], {});
    assert.equal(c.dataDir, '/var/lib/plexus');
    assert.deepEqual(c.etcd, []);
    assert.equal(c.etcdPrefix, '/plexus/');
    assert.deepEqual(c.embeddedEtcdPorts, { client: 2379, peer: 2380 });
    assert.deepEqual(c.listenApi, { host: '0.0.0.0', port: 8181 });
    assert.deepEqual(c.listenOpenflow, { host: '0.0.0.0', port: 6653 });
    assert.deepEqual(c.listenOvsdb, { host: '0.0.0.0', port: 6640 });
    assert.equal(c.logLevel, 'info');
    assert.equal(c.memberId, undefined);
  });

  it('takes flag over environment over file', () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'log-level: warn\ndata-dir: /from/file\netcd-prefix: /p\nlisten-api: 127.0.0.1:9000\n');
    const env = { PLEXUS_DATA_DIR: '/from/env', PLEXUS_LOG_LEVEL: 'debug' };
    const c = loadConfig(['--config', file, '--log-level', 'error'], env);
    assert.equal(c.logLevel, 'error');
    assert.equal(c.dataDir, '/from/env');
    assert.equal(c.etcdPrefix, '/p/');
    assert.deepEqual(c.listenApi, { host: '127.0.0.1', port: 9000 });
  });

  it('accepts a YAML list of etcd endpoints', () => {
    const file = join(dir, 'b.yaml');
    writeFileSync(file, 'etcd:\n  - http://127.0.0.1:2379\n  - http://127.0.0.2:2379\n');
    assert.deepEqual(loadConfig(['--config', file], {}).etcd, ['http://127.0.0.1:2379', 'http://127.0.0.2:2379']);
  });

  const bad: [string, string[], Record<string, string>, RegExp][] = [
    ['unparseable port', ['--listen-api', '127.0.0.1:http'], {}, /listen-api: expected HOST:PORT/],
    ['port out of range', ['--listen-openflow', ':70000'], {}, /listen-openflow: "70000" is not a port/],
    ['bad etcd url', ['--etcd', 'localhost:2379'], {}, /etcd: "localhost:2379" is not an http/],
    ['bad log level', [], { PLEXUS_LOG_LEVEL: 'loud' }, /log-level: unknown level "loud"/],
    ['bad prefix', ['--etcd-prefix', 'plexus'], {}, /etcd-prefix must start with/],
    ['bad member id', ['--member-id', 'a b'], {}, /member-id/],
    ['one etcd port', ['--embedded-etcd-ports', '2379'], {}, /embedded-etcd-ports: expected "client,peer"/],
    ['missing config file', ['--config', '/nonexistent/plexus.yaml'], {}, /cannot read config file/],
  ];
  for (const [name, argv, env, pattern] of bad) {
    it(`rejects ${name} with a ConfigError naming the setting`, () => {
      assert.throws(() => loadConfig(argv, env), (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
    });
  }

  it('bounds connections per address and buffered OVSDB input (issue 18), configurable', () => {
    const c = loadConfig([], {});
    assert.equal(c.maxConnectionsPerAddress, 2048);
    assert.equal(c.ovsdbMaxMessageBytes, 64 * 1024 * 1024);
    assert.equal(c.ovsdbMaxBufferedBytes, 128 * 1024 * 1024);
    const set = loadConfig(['--max-connections-per-address', '5000', '--ovsdb-max-message-mib', '256'], { PLEXUS_OVSDB_MAX_BUFFERED_MIB: '1024' });
    assert.equal(set.maxConnectionsPerAddress, 5000);
    assert.equal(set.ovsdbMaxMessageBytes, 256 * 1024 * 1024);
    assert.equal(set.ovsdbMaxBufferedBytes, 1024 * 1024 * 1024);
    assert.throws(() => loadConfig(['--max-connections-per-address', '0'], {}), /max-connections-per-address: "0" is not a number from 1/);
    assert.throws(() => loadConfig(['--ovsdb-max-buffered-mib', '32'], {}), /ovsdb-max-buffered-mib \(32\) must be at least ovsdb-max-message-mib \(64\)/);
  });

  it('sizes the hosts\' inactivity probe between a floor and a ceiling (issue 17), configurable', () => {
    assert.deepEqual(loadConfig([], {}).hostProbe, { minMs: 5000, maxMs: 60_000, perHostMs: 20 });
    const file = join(dir, 'probe.yaml');
    writeFileSync(file, 'host-probe-min-ms: 2000\nhost-probe-max-ms: 120000\n');
    assert.deepEqual(loadConfig(['--config', file, '--host-probe-per-host-ms', '0'], {}).hostProbe, { minMs: 2000, maxMs: 120_000, perHostMs: 0 });
    assert.throws(() => loadConfig(['--host-probe-min-ms', '500'], {}), /host-probe-min-ms: "500" is not a number of ms from 1000/);
    assert.throws(() => loadConfig(['--host-probe-max-ms', '4000'], {}), /host-probe-max-ms \(4000\) must be at least host-probe-min-ms \(5000\)/);
    assert.match(buildCommand().helpInformation(), /--host-probe-per-host-ms <MS>[\s\S]*\(default: 20\)/);
  });

  it('rejects unknown keys and non-mappings in the config file', () => {
    const unknown = join(dir, 'c.yaml');
    writeFileSync(unknown, 'listen-apii: 1.2.3.4:5\n');
    assert.throws(() => loadConfig(['--config', unknown], {}), /unknown setting "listen-apii"/);
    const list = join(dir, 'd.yaml');
    writeFileSync(list, '- a\n- b\n');
    assert.throws(() => loadConfig(['--config', list], {}), /must be a YAML mapping/);
    const broken = join(dir, 'e.yaml');
    writeFileSync(broken, 'a: [1,\n');
    assert.throws(() => loadConfig(['--config', broken], {}), /not valid YAML/);
  });
});

describe('config: tokens, TLS, advertise, --version and --help', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'plexus-config2-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads hashed api-tokens from the config file and refuses malformed ones with the entry named', () => {
    const good = join(dir, 'tokens.yaml');
    writeFileSync(good, `api-tokens:\n  - { name: ops, admin: true, sha256: ${'a'.repeat(64)} }\n  - { name: ci, tenant: acme, sha256: "sha256:${'B'.repeat(64)}" }\n`);
    assert.deepEqual(loadConfig(['--config', good], {}).apiTokens, [
      { name: 'ops', admin: true, sha256: 'a'.repeat(64) },
      { name: 'ci', tenant: 'acme', sha256: 'b'.repeat(64) },
    ]);
    const cases: [string, RegExp][] = [
      [`api-tokens:\n  - { name: x, admin: true, sha256: abc }\n`, /api-tokens\[0\]\.sha256 must be the SHA-256/],
      [`api-tokens:\n  - { name: x, sha256: ${'a'.repeat(64)} }\n`, /api-tokens\[0\] needs exactly one of "admin: true" or "tenant: <id>"/],
      [`api-tokens:\n  - { name: x, admin: true, tenant: t, sha256: ${'a'.repeat(64)} }\n`, /exactly one/],
      [`api-tokens:\n  - { name: x, admin: true, token: plain, sha256: ${'a'.repeat(64)} }\n`, /unknown key "token"/],
      [`api-tokens: secret\n`, /must be a list/],
    ];
    for (const [text, pattern] of cases) {
      const f = join(dir, 'bad-tokens.yaml');
      writeFileSync(f, text);
      assert.throws(() => loadConfig(['--config', f], {}), (err: unknown) => err instanceof ConfigError && pattern.test(err.message), text);
    }
    assert.deepEqual(loadConfig([], {}).apiTokens, []);
  });

  it('rejects a bad --advertise (port, wildcard, garbage) and accepts addresses and names', () => {
    for (const bad of ['10.0.0.5:6653', '0.0.0.0', 'not a host', '10.0.0', 'http://x']) {
      assert.throws(() => loadConfig(['--advertise', bad], {}), (err: unknown) => err instanceof ConfigError && /^advertise: /.test(err.message), bad);
    }
    for (const good of ['10.0.0.5', 'fd00::5', 'plexus-a.example.net']) assert.equal(loadConfig(['--advertise', good], {}).advertise, good);
  });

  it('checks TLS files: cert and key together, PEM content, etcd TLS only with https etcd', () => {
    const pem = join(dir, 'x.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const notPem = join(dir, 'x.txt');
    writeFileSync(notPem, 'hello');
    assert.throws(() => loadConfig(['--tls-cert', pem], {}), /tls-cert and tls-key go together/);
    assert.throws(() => loadConfig(['--tls-cert', pem, '--tls-key', notPem], {}), /tls-key: .* is not a PEM file/);
    assert.throws(() => loadConfig(['--tls-cert', pem, '--tls-key', '/nonexistent.pem'], {}), /tls-key: cannot read/);
    assert.equal(loadConfig(['--tls-cert', pem, '--tls-key', pem], {}).tls?.certPath, pem);
    assert.throws(() => loadConfig(['--etcd-cacert', pem], {}), /give --etcd too/);
    assert.throws(() => loadConfig(['--etcd', 'http://10.0.0.1:2379', '--etcd-cacert', pem], {}), /plain http:\/\//);
    assert.ok(loadConfig(['--etcd', 'https://10.0.0.1:2379', '--etcd-cacert', pem], {}).etcdTls?.ca);
  });

  it('plexusd --version prints the version and exits 0; --help shows the defaults @slow', function () {
    this.timeout(20_000);
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const main = join(__dirname, '..', '..', 'src', 'daemon', 'main.ts');
    const version = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), main, '--version'], { encoding: 'utf8' });
    assert.match(version.trim(), /^\d+\.\d+\.\d+/);
    const help = buildCommand().helpInformation();
    assert.match(help, /--listen-api <H:P>\s+REST API and \/metrics \(default:\s+0\.0\.0\.0:8181\)/);
    assert.match(help, /--data-dir <DIR>[\s\S]*\(default: \/var\/lib\/plexus\)/);
    assert.match(help, /--version/);
  });
});
