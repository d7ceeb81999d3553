import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

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
