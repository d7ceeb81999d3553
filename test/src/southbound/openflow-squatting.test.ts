/**
 * OpenFlow squatting (issue 18 item 3, the offline case): a peer speaking real
 * OpenFlow that claims the datapath id of a host whose ovs-vswitchd is down
 * must not become that host's session. Only an OpenFlow connection the host's
 * OVSDB view vouches for (connected host, br-int with that datapath_id and a
 * controller, same peer address as its OVSDB session) is the datapath's; the
 * impostor connects from another address (127.0.0.2) and is held, sent
 * nothing, and the real switch takes the datapath when it comes back.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { OpenFlowConnection, type ConnectionEvent } from '../../../protocols/openflow/connection';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { isInstalled, plug } from '../../support/workloads';

interface Impostor {
  readonly conn: OpenFlowConnection;
  readonly socket: Socket;
  /** Types of every message the controller sent after the handshake (features_request aside). */
  readonly received: string[];
  isClosed(): boolean;
}

/** A fake switch speaking OpenFlow 1.3 from `localAddress`, claiming `dpid`. */
function connectImpostor(port: number, dpid: bigint, localAddress: string): Promise<Impostor> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      const conn = new OpenFlowConnection(socket, { side: 'switch' });
      const received: string[] = [];
      let closed = false;
      conn.on('event', (e: ConnectionEvent) => {
        if (e.kind === 'message') {
          if (e.message.type === 'features_request') {
            conn.send({ type: 'features_reply', xid: e.message.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
          } else if (e.message.type !== 'echo_request' && e.message.type !== 'echo_reply') {
            received.push(e.message.type);
          }
        }
        if (e.kind === 'closed') closed = true;
      });
      resolve({ conn, socket, received, isClosed: () => closed });
    });
  });
}

interface HostView {
  id: string;
  status: string;
  datapathId: string | null;
  ofConnected: boolean;
}

describe('OpenFlow squatting on an offline switch @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  let h1: OvsHost;
  let impostor: Impostor | undefined;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    h1 = await OvsHost.start({ name: 'sq1', systemId: 'h1', dummy: true, externalIds: { 'plexus-encap-ip': '127.1.5.1', 'plexus-bridge-datapath-type': 'dummy' } });
    await h1.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`);
    await waitFor('h1 ready', async () => (await host('h1'))?.status === 'ready', 30_000);
  });

  after(async () => {
    impostor?.socket.destroy();
    await h1?.stop();
    await plexusd?.destroy();
  });

  async function host(id: string): Promise<HostView | undefined> {
    return (await plexusd.api<{ items: HostView[] }>('GET', '/v1/hosts')).body.items.find((h) => h.id === id);
  }

  it('holds a connection claiming the datapath of an offline switch from another address; the real switch takes it back', async () => {
    const dpid = (await host('h1'))!.datapathId!;
    await h1.stopDaemon('ovs-vswitchd');
    await waitFor('h1 OpenFlow down', async () => (await host('h1'))?.ofConnected === false, 20_000);

    impostor = await connectImpostor(plexusd.ports.openflow, BigInt(`0x${dpid}`), '127.0.0.2');
    // Long enough for a master to send its role request, flow dump and flows to an accepted session.
    await waitFor('4 s, or a message to the impostor', async () => impostor!.received.length > 0 || (await new Promise((r) => setTimeout(() => r(false), 4000))), 10_000).catch(() => undefined);
    assert.deepEqual(impostor.received, [], 'the impostor was sent nothing: not its role, not the flow table');
    assert.match(plexusd.logs, /holding an OpenFlow connection the OVSDB view does not vouch for/);
    const during = (await host('h1'))!;
    assert.deepEqual([during.ofConnected, during.status === 'ready'], [false, false], 'h1 is not shown connected through the impostor');

    // The real switch comes back (from the address of h1's OVSDB session): it is the datapath's session.
    await h1.startDaemon('ovs-vswitchd');
    await waitFor('h1 ready again', async () => {
      const h = await host('h1');
      return h?.status === 'ready' && h.ofConnected;
    }, 30_000);
    const ep = await makeEndpoint();
    await plug(h1, 'p-sq', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('endpoint installed through the real switch', () => isInstalled(h1, 'p-sq'), 30_000);
    assert.ok((await h1.dumpFlows()).length > 0, 'the real switch received the flow table');
    assert.deepEqual(impostor.received, [], 'the impostor still got nothing');
  });

  async function makeEndpoint(): Promise<{ id: string; mac: string }> {
    const n = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: 'SqNet' });
    assert.equal(n.status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.231.0/24' })).status, 201);
    return (await plexusd.api<{ id: string; mac: string }>('POST', '/v1/endpoints', { network: n.body.id, name: 'on-h1' })).body;
  }
});
