import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { OpenFlowConnection } from '../../../protocols/openflow/connection';
import type { Mastery } from '../../../src/cluster/ownership';
import { silentLogger } from '../../../src/log';
import type { SwitchServer } from '../../../src/southbound/switch-server';
import { SwitchRoles } from '../../../src/overlay/switch-roles';

/** A mastery whose master and generation the test sets. */
class FakeMastery extends EventEmitter {
  readonly memberId = 'm1';
  master = true;
  generation = 10n;
  isMaster(): boolean {
    return this.master;
  }
  masterOf() {
    return this.master ? { member: this.memberId, generation: this.generation } : { member: 'm2', generation: this.generation };
  }
}

function fakeConn(): OpenFlowConnection & { roles: number[] } {
  const roles: number[] = [];
  return {
    roles, isOpen: true, currentState: 'ready',
    request: async (m: { role: number }) => {
      roles.push(m.role);
      return {};
    },
  } as unknown as OpenFlowConnection & { roles: number[] };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('switch roles: one read-back per connection and mastership', function () {
  it('claims again with a new generation on the same connection without programming the switch again', async function () {
    const conn = fakeConn();
    const switches = Object.assign(new EventEmitter(), { connection: () => conn }) as unknown as SwitchServer;
    const mastery = new FakeMastery();
    const roles = new SwitchRoles(switches, mastery as unknown as Mastery, silentLogger());
    const masters: string[] = [];
    const detached: string[] = [];
    roles.on('master', (h) => masters.push(h));
    roles.on('detached', (h) => detached.push(h));
    roles.observeDatapath('h1', '00000000000000a1');
    await settle();
    assert.deepEqual(masters, ['h1']);
    mastery.generation = 11n;
    mastery.emit('changed', 'h1');
    await settle();
    assert.deepEqual(masters, ['h1'], 'no second master event: the switch is not read back again');
    assert.equal(conn.roles.length, 2, 'the new generation is still claimed');
    // Slave, then master again: the switch may have changed meanwhile, so it is programmed (read back) again.
    mastery.master = false;
    mastery.emit('changed', 'h1');
    await settle();
    mastery.master = true;
    mastery.emit('changed', 'h1');
    await settle();
    assert.deepEqual(detached, ['h1']);
    assert.deepEqual(masters, ['h1', 'h1']);
  });
});
