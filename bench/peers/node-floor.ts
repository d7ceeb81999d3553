/**
 * What a Node controller costs at the least on this machine, for the packetin
 * bench's `--peer node-floor`: a bare `net.Server` that frames OpenFlow 1.3 by
 * its 8-byte header and answers each PACKET_IN with one PACKET_OUT (flood)
 * carrying the frame, each ECHO_REQUEST with its ECHO_REPLY, and ignores the
 * rest. No decoding past the header and the match length, no tables, one write
 * per chunk read (as plexusd's message socket does, Nagle off). Plexus' figure
 * against this one is what Plexus' own handling costs beyond Node's socket path.
 *
 *   node dist/bench/peers/node-floor.js PORT
 */
import { createServer, type Socket } from 'node:net';

const OFP_VERSION = 0x04;
const OFPT = { HELLO: 0, ECHO_REQUEST: 2, ECHO_REPLY: 3, PACKET_IN: 10, PACKET_OUT: 13 } as const;
const OFP_NO_BUFFER = 0xffffffff;
const OFPP_FLOOD = 0xfffffffb;
const OFPP_CONTROLLER = 0xfffffffd;
const OFPCML_NO_BUFFER = 0xffff;
/** OXM_OF_IN_PORT: class 0x8000, field 0, no mask, 4 bytes. */
const OXM_IN_PORT = 0x80000004;

function header(type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(OFP_VERSION, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

/** PACKET_IN (OF 1.3 §7.4.1): the frame after the padded match, and in_port from the match. */
function packetOutFor(msg: Buffer): Buffer {
  const matchLength = msg.readUInt16BE(26);
  let inPort = OFPP_CONTROLLER;
  for (let at = 28; at + 8 <= 24 + matchLength; at += 4 + msg.readUInt8(at + 3)) {
    if (msg.readUInt32BE(at) === OXM_IN_PORT) inPort = msg.readUInt32BE(at + 4);
  }
  const dataAt = 24 + Math.ceil(matchLength / 8) * 8 + 2;
  const data = msg.subarray(dataAt);
  const out = Buffer.alloc(40 + data.length);
  header(OFPT.PACKET_OUT, out.length, msg.readUInt32BE(4)).copy(out, 0);
  out.writeUInt32BE(OFP_NO_BUFFER, 8);
  out.writeUInt32BE(inPort, 12);
  out.writeUInt16BE(16, 16); // actions_len; 6 bytes pad
  out.writeUInt16BE(0, 24); // OFPAT_OUTPUT
  out.writeUInt16BE(16, 26);
  out.writeUInt32BE(OFPP_FLOOD, 28);
  out.writeUInt16BE(OFPCML_NO_BUFFER, 32); // 6 bytes pad
  data.copy(out, 40);
  return out;
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  socket.write(header(OFPT.HELLO, 8, 1));
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const answers: Buffer[] = [];
    let at = 0;
    while (pending.length - at >= 8) {
      const length = pending.readUInt16BE(at + 2);
      if (length < 8) return socket.destroy();
      if (pending.length - at < length) break;
      const msg = pending.subarray(at, at + length);
      const type = msg.readUInt8(1);
      if (type === OFPT.PACKET_IN) answers.push(packetOutFor(msg));
      else if (type === OFPT.ECHO_REQUEST) answers.push(Buffer.concat([header(OFPT.ECHO_REPLY, length, msg.readUInt32BE(4)), msg.subarray(8)]));
      at += length;
    }
    pending = pending.subarray(at);
    if (answers.length) socket.write(answers.length === 1 ? answers[0]! : Buffer.concat(answers));
  });
  socket.on('error', () => socket.destroy());
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node-floor.js PORT (the OpenFlow port to listen on, 127.0.0.1)\n');
  process.exit(2);
}
createServer(serve).listen(port, '127.0.0.1');
