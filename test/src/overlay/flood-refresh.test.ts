import assert from 'node:assert/strict';
import { FloodRefresh } from '../../../src/overlay/flood-refresh';

describe('deferred flooding lists (flood-refresh)', function () {
  it('rebuilds every host deferred within one window once, per network', async function () {
    const calls: [string, string[]][] = [];
    const floods = new FloodRefresh((network, hosts) => calls.push([network, [...hosts].sort()]));
    floods.defer('n1', 'h1');
    floods.defer('n1', 'h2');
    floods.defer('n1', 'h1');
    floods.defer('n2', 'h3');
    assert.equal(floods.isBehind('n1', 'h2'), true);
    assert.deepEqual(calls, [], 'nothing rebuilt before the window ends');
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(calls, [['n1', ['h1', 'h2']], ['n2', ['h3']]]);
    assert.equal(floods.isBehind('n1', 'h2'), false);
    floods.stop();
  });

  it('skips a host whose list was rebuilt meanwhile for another reason', async function () {
    const calls: [string, string[]][] = [];
    const floods = new FloodRefresh((network, hosts) => calls.push([network, [...hosts]]));
    floods.defer('n1', 'h1');
    floods.defer('n1', 'h2');
    floods.done('n1', 'h1');
    floods.done('n1', 'h9');
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(calls, [['n1', ['h2']]]);
    floods.stop();
  });

  it('rebuilds nothing after stop', async function () {
    const calls: string[] = [];
    const floods = new FloodRefresh((network) => calls.push(network));
    floods.defer('n1', 'h1');
    floods.stop();
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(calls, []);
  });
});
