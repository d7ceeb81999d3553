import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const UNIT = join(__dirname, '..', '..', 'config', 'plexusd.service');

describe('config/plexusd.service', () => {
  it('is hardened: systemd-analyze security exposure at most 4.0 @slow', async function () {
    this.timeout(30_000);
    const out = await new Promise<string>((resolve, reject) =>
      execFile('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], (err, stdout, stderr) => (stdout ? resolve(stdout + stderr) : reject(err ?? new Error(stderr)))),
    );
    const m = /Overall exposure level for plexusd\.service: (\d+\.\d+)/.exec(out);
    assert.ok(m, out.slice(-2000));
    assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]}:\n${out.slice(-3000)}`);
  });

  it('starts after the network and etcd, stops plexusd alone first, and restarts without giving up', () => {
    const unit = readFileSync(UNIT, 'utf8');
    assert.match(unit, /^After=.*network-online\.target/m);
    assert.match(unit, /^After=.*etcd\.service/m);
    assert.match(unit, /^Wants=network-online\.target$/m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^StartLimitIntervalSec=0$/m);
  });
});
