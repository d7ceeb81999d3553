import assert from 'node:assert/strict';
import { Backoff } from '../../../protocols/common/backoff';
import type { HostLink } from '../../../src/southbound/host-link';
import { HostSessions, type HostSession } from '../../../src/southbound/host-sessions';

function session(): HostSession {
  return {
    link: {} as HostLink, hostId: undefined, view: undefined, dpid: null, running: false, dirty: false, closed: false,
    retry: undefined, retireLegacyTunnels: false, ovsdbUuid: undefined, refused: undefined, backoff: new Backoff({ delaysMs: [1] }),
  };
}

describe('host sessions index (host-sessions)', function () {
  it('finds sessions by host id, refusal and datapath as they change, and forgets deleted ones', function () {
    const sessions = new HostSessions();
    const a = session();
    const b = session();
    sessions.add(a);
    sessions.add(b);
    sessions.setHostId(a, 'h1');
    sessions.setDpid(a, '00000000000000a1');
    sessions.setRefused(b, { hostId: 'h1', reason: 'held' });
    assert.deepEqual([...sessions.of('h1')], [a]);
    assert.deepEqual([...sessions.refusedOf('h1')], [b]);
    assert.deepEqual([...sessions.onDpid('00000000000000a1')], [a]);

    sessions.setHostId(a, 'h2');
    sessions.setDpid(a, null);
    assert.equal(sessions.of('h1').size, 0);
    assert.deepEqual([...sessions.of('h2')], [a]);
    assert.equal(sessions.onDpid('00000000000000a1').size, 0);

    sessions.setRefused(b, undefined);
    sessions.setHostId(b, 'h1');
    assert.equal(sessions.refusedOf('h1').size, 0);
    assert.deepEqual([...sessions.of('h1')], [b]);

    sessions.delete(a);
    assert.equal(sessions.of('h2').size, 0);
    assert.deepEqual([...sessions], [b]);
  });

  it('indexes what a session already holds when it is added', function () {
    const sessions = new HostSessions();
    const a = session();
    sessions.setHostId(a, 'h1');
    sessions.setDpid(a, 'd1');
    assert.equal(a.hostId, 'h1');
    sessions.add(a);
    assert.deepEqual([...sessions.of('h1')], [a]);
    assert.deepEqual([...sessions.onDpid('d1')], [a]);
  });
});
