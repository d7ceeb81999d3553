/**
 * Independent oracles for packet tests: Open vSwitch builds packets from flow text
 * (`ovs-ofctl compose-packet`) and parses them (`ovs-ofctl ofp-print` of a PACKET_IN);
 * tcpdump verifies checksums and decodes DHCP. None of this shares code with Plexus.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Bytes of the packet OVS composes for `flow` (its hexdump output parsed).
 * OVS 3.1 exits 1 on ND packets with "specified and extracted flows differ" although
 * both printed flows are identical (a zero nd_tll/nd_sll is compared unmasked); that case
 * is accepted, any real difference is an error.
 */
export function composePacket(flow: string): Buffer {
  const run = spawnSync('ovs-ofctl', ['compose-packet', flow], { encoding: 'utf8' });
  const out = run.stdout;
  if (run.status !== 0) {
    const specified = /specified: (.*)/.exec(run.stderr)?.[1];
    const extracted = /extracted: (.*)/.exec(run.stderr)?.[1];
    if (specified === undefined || specified !== extracted) {
      throw new Error(`ovs-ofctl compose-packet failed for ${flow}:\n${run.stderr}`);
    }
  }
  const hex = out
    .split('\n')
    .map((line) => /^[0-9a-f]{8}  ((?:[0-9a-f]{2}[ -]?)+)/.exec(line.replace(/^.*?(?=[0-9a-f]{8}  )/, ''))?.[1] ?? '')
    .join('')
    .replace(/[ -]/g, '');
  if (hex.length === 0) throw new Error(`ovs-ofctl compose-packet produced no bytes for ${flow}:\n${out}`);
  return Buffer.from(hex, 'hex');
}

/**
 * OVS's flow extraction of `packet`, from `ofp-print` of an OpenFlow 1.0 PACKET_IN.
 * Returns the key=value fields plus `proto` (the leading protocol keyword, if any) and
 * `csum` (the trailing L4 checksum OVS prints, if any).
 */
export function extractOvsFlow(packet: Buffer): Record<string, string> {
  const header = Buffer.alloc(18);
  header.writeUInt8(1, 0); // OpenFlow 1.0
  header.writeUInt8(10, 1); // OFPT_PACKET_IN
  header.writeUInt16BE(18 + packet.length, 2);
  header.writeUInt32BE(0xffffffff, 8); // no buffer
  header.writeUInt16BE(packet.length, 12);
  header.writeUInt16BE(1, 14); // in_port
  const text = execFileSync('ovs-ofctl', ['ofp-print', Buffer.concat([header, packet]).toString('hex')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = text.split('\n')[1] ?? '';
  const [flowPart, csumPart] = line.split(' ');
  const fields: Record<string, string> = {};
  for (const item of (flowPart ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq === -1) fields.proto = item;
    else fields[item.slice(0, eq)] = item.slice(eq + 1);
  }
  if (csumPart) fields.csum = csumPart.split(':')[1] ?? '';
  return fields;
}

/** tcpdump -nn -vv output for each packet (one string per packet, continuation lines joined). */
export function describeWithTcpdump(packets: readonly Buffer[], extraArgs: readonly string[] = []): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-pcap-'));
  try {
    const parts: Buffer[] = [];
    const global = Buffer.alloc(24);
    global.writeUInt32LE(0xa1b2c3d4, 0);
    global.writeUInt16LE(2, 4);
    global.writeUInt16LE(4, 6);
    global.writeUInt32LE(65535, 16);
    global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    parts.push(global);
    packets.forEach((p, i) => {
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(i, 0);
      rec.writeUInt32LE(p.length, 8);
      rec.writeUInt32LE(p.length, 12);
      parts.push(rec, p);
    });
    const file = join(dir, 'packets.pcap');
    writeFileSync(file, Buffer.concat(parts));
    const text = execFileSync('tcpdump', ['-r', file, '-nn', '-vv', ...extraArgs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (/^\d\d:\d\d:\d\d\./.test(line)) out.push(line);
      else if (line.trim() !== '' && out.length > 0) out[out.length - 1] += `\n${line}`;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Same bytes, for `assert.equal` messages that show hex. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
