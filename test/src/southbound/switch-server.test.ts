import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { PlexusError } from '../../../protocols/common/errors';
import { OpenFlowConnection, type ConnectionEvent } from '../../../protocols/openflow/connection';
import { silentLogger } from '../../../src/log';
import { waitFor } from '../../../src/sandbox/processes';
import { SwitchServer, type SwitchEvent } from '../../../src/southbound/switch-server';
import { startSwitch, type SwitchFixture } from '../../support/switch-fixture';

interface FakeSwitch {
  readonly conn: OpenFlowConnection;
  readonly socket: Socket;
  /** Set once the controller side closed us (undefined while open). */
  closedWith(): PlexusError | 'closed' | undefined;
}

/** A peer speaking OpenFlow 1.3 as a switch would, claiming datapath id `dpid` in its FEATURES_REPLY. */
function connectFakeSwitch(port: number, dpid: bigint): Promise<FakeSwitch> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => {
      const conn = new OpenFlowConnection(socket, { side: 'switch' });
      let closed: PlexusError | 'closed' | undefined;
      conn.on('event', (e: ConnectionEvent) => {
        if (e.kind === 'message' && e.message.type === 'features_request') {
          conn.send({ type: 'features_reply', xid: e.message.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
        }
        if (e.kind === 'closed') closed = e.error ?? 'closed';
      });
      resolve({ conn, socket, closedWith: () => closed });
    });
  });
}

function recordSwitchEvents(server: SwitchServer): string[] {
  const seen: string[] = [];
  server.on('switch', (e: SwitchEvent) => {
    if (e.kind !== 'message') seen.push(`${e.kind} ${e.dpid}`);
  });
  return seen;
}

describe('switch server: a datapath id is no credential @slow', function () {
  this.timeout(60_000);
  let sw: SwitchFixture;

  before(async () => {
    sw = await startSwitch({ ports: { p1: 1 } });
  });
  after(async () => {
    await sw?.stop();
  });

  it('refuses connections that claim the datapath id of a switch that is connected and answering', async () => {
    const real = sw.conn();
    const dpid = real.switchFeatures!.datapathId;
    const seen = recordSwitchEvents(sw.server);
    const port = sw.server.port;
    // One at a time, then two at once (the second arrives while the first is being verified).
    const impostors = [await connectFakeSwitch(port, dpid)];
    await waitFor('first impostor refused', () => impostors[0]!.closedWith(), 10_000);
    for (let round = 0; round < 3; round++) {
      const pair = await Promise.all([connectFakeSwitch(port, dpid), connectFakeSwitch(port, dpid)]);
      impostors.push(...pair);
      await waitFor('impostors refused', () => pair.every((f) => f.closedWith()), 10_000);
    }
    assert.deepEqual(seen, [], 'no session was replaced');
    assert.equal(sw.server.connection(dpid.toString(16).padStart(16, '0')), real);
    assert.ok(real.isOpen);
    await real.barrier();
    assert.equal(impostors.length, 7);
  });
});

describe('switch server: a silent session gives way', () => {
  it('replaces the session of a datapath that stops answering echoes', async () => {
    const server = new SwitchServer(silentLogger(), { takeoverProbeMs: 300 });
    const port = await server.listen('127.0.0.1', 0);
    const dpid = 0xabcdef01n;
    const hex = dpid.toString(16).padStart(16, '0');
    const fakes: FakeSwitch[] = [];
    try {
      const seen = recordSwitchEvents(server);
      fakes.push(await connectFakeSwitch(port, dpid));
      await waitFor('first up', () => server.connection(hex));
      // The first one stops reading: it can no longer answer anything.
      fakes[0]!.socket.pause();
      fakes.push(await connectFakeSwitch(port, dpid));
      await waitFor('second up', () => seen.length === 3, 5000);
      assert.deepEqual(seen, [`up ${hex}`, `down ${hex}`, `up ${hex}`]);
      assert.equal(server.connection(hex)?.currentState, 'ready');
      assert.notEqual(server.connection(hex)?.remote, undefined);
      assert.equal(fakes[1]!.closedWith(), undefined);
    } finally {
      for (const f of fakes) f.conn.close();
      await server.close();
    }
  });
});

describe('switch server: echoes follow the fleet probe', () => {
  it('retunes the echoes of sessions already open: a silent switch is found at the new timing', async () => {
    const server = new SwitchServer(silentLogger(), { echoIntervalMs: 60_000, echoTimeoutMs: 60_000 });
    const port = await server.listen('127.0.0.1', 0);
    const hex = (0xfeed01n).toString(16).padStart(16, '0');
    const fakes: FakeSwitch[] = [];
    try {
      const seen = recordSwitchEvents(server);
      fakes.push(await connectFakeSwitch(port, 0xfeed01n));
      await waitFor('up', () => server.connection(hex));
      fakes[0]!.socket.pause(); // silent from now on: it answers no echo
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(seen, [`up ${hex}`], 'a minute-long echo interval has not run out');
      server.followProbe(200);
      await waitFor('the silent switch down', () => seen.length === 2, 3000);
      assert.deepEqual(seen, [`up ${hex}`, `down ${hex}`]);
    } finally {
      for (const f of fakes) f.conn.close();
      await server.close();
    }
  });
});

describe('switch server: connections per address', function () {
  this.timeout(20_000);
  it('refuses connections beyond the per-address limit, and takes new ones once some close', async () => {
    const server = new SwitchServer(silentLogger(), { maxConnectionsPerAddress: 3 });
    const port = await server.listen('127.0.0.1', 0);
    const sockets: Socket[] = [];
    const open = async (): Promise<{ hello: () => boolean; closed: () => boolean }> => {
      const s = connect({ port, host: '127.0.0.1' });
      sockets.push(s);
      let got = 0;
      let closed = false;
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('close', () => (closed = true));
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      return { hello: () => got >= 8, closed: () => closed };
    };
    try {
      const admitted = [await open(), await open(), await open()];
      const refused = await open();
      // Admitted connections get our HELLO at once; the fourth is closed without a byte.
      await waitFor('three admitted', () => admitted.every((c) => c.hello()), 5000);
      await waitFor('fourth refused', () => refused.closed(), 5000);
      assert.equal(refused.hello(), false);
      sockets[0]!.destroy();
      // Once our side has seen the first one close, a new connection is admitted.
      const again = await waitFor('a new one admitted', async () => {
        const c = await open();
        await waitFor('hello or close', () => c.hello() || c.closed(), 5000);
        return c.hello() ? c : undefined;
      }, 5000);
      assert.equal(again.closed(), false);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});
