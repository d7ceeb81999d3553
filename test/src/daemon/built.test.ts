import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';

const root = join(__dirname, '../../..');

/**
 * The shipped entry points run the compiled JavaScript in dist/ (npm test builds
 * it first): a path that only resolves from the sources must fail here.
 */
describe('built entry points @slow', function () {
  this.timeout(60_000);

  it('bin/plexusd and bin/plexusctl answer --help', () => {
    assert.ok(existsSync(join(root, 'dist/src/daemon/main.js')), 'run the build first (npm test does)');
    assert.match(execFileSync(process.execPath, [join(root, 'bin/plexusd'), '--help'], { encoding: 'utf8' }), /--listen-ovsdb/);
    assert.match(execFileSync(process.execPath, [join(root, 'bin/plexusctl'), '--help'], { encoding: 'utf8' }), /endpoint/);
  });

  it('the built plexusd starts, serves its version and stops', async () => {
    const p = await PlexusdProcess.start({ memberId: 'built', entry: join(root, 'dist/src/daemon/main.js') });
    try {
      const health = await p.api<{ version: string }>('GET', '/v1/health');
      assert.equal(health.status, 200);
      assert.match(health.body.version, /^\d+\.\d+\.\d+$/);
    } finally {
      await p.destroy();
    }
  });
});
