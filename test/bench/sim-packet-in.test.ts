import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { OFPR } from '../../protocols/openflow/constants';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import type { Decoded, PacketIn } from '../../protocols/openflow/messages';
import { SimSwitch } from '../../bench/sim/sim-switch';

describe('simulated switch packet-ins, encoded once and sent again (the packetin load generator)', () => {
  let server: Server;
  let received: Decoded<PacketIn>[];
  let sim: SimSwitch;

  beforeEach(async () => {
    received = [];
    server = createServer((socket) => {
      const conn = new OpenFlowConnection(socket, { side: 'controller' });
      conn.on('event', (e: ConnectionEvent) => {
        if (e.kind === 'message' && e.message.type === 'packet_in') received.push(e.message);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sim = new SimSwitch({ datapathId: 7n, ports: [{ portNo: 1, name: 'p1' }] });
    await sim.connect((server.address() as { port: number }).port);
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  afterEach(() => {
    sim.close();
    server.close();
  });

  it('sends the bytes sendPacketIn would, with what the generator patched into the frame', async () => {
    const frame = Buffer.alloc(200, 0xab);
    const encoded = sim.encodePacketIn({ inPort: 1, data: frame, reason: OFPR.ACTION });
    assert.equal(encoded.length, 1);
    encoded[0]!.bytes.writeUInt32BE(0x01020304, encoded[0]!.dataAt + 46);
    assert.equal(sim.sendEncodedPacketIn(encoded), 1);
    assert.equal(sim.sendPacketIn({ inPort: 1, data: frame, reason: OFPR.ACTION }), 1);
    // A table miss is cut to miss_send_len (128 by default), as OVS does without buffers.
    assert.equal(sim.sendPacketIn({ inPort: 1, data: frame }), 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(received.length, 3);
    const [patched, plain, cut] = received;
    assert.equal(patched!.data.readUInt32BE(46), 0x01020304);
    assert.deepEqual(plain!.data, frame);
    assert.deepEqual(patched!.match, plain!.match);
    assert.deepEqual(patched!.match, [{ field: 'in_port', value: 1 }]);
    assert.equal(cut!.data.length, 128);
    assert.equal(cut!.totalLen, 200);
    assert.equal(sim.counters.packetIns, 3);
  });

  it('sends nothing once the controller session is gone', async () => {
    const encoded = sim.encodePacketIn({ inPort: 1, data: Buffer.alloc(60) });
    sim.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sim.sendEncodedPacketIn(encoded), 0);
    assert.deepEqual(sim.encodePacketIn({ inPort: 1, data: Buffer.alloc(60) }), []);
  });
});
