/**
 * Traffic probes of the real-packet lab (SPEC §9 "Real packets"): DHCP with busybox
 * udhcpc, ping, a TCP transfer checked end to end, and UDP with a forged source. Each
 * runs inside the workload namespaces {@link ./lab-workloads} made; helper processes are
 * tracked by a {@link LabProcesses} so the lab can stop them.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseIpv4 } from '../../protocols/packet/address';
import { ip, linkMac, NetnsError, nsRun, NsProcess } from './netns';
import type { Workload } from './lab-workloads';

export interface DhcpLease {
  readonly ip: string;
  readonly mask: string;
  readonly prefixLength: number;
  readonly router: string | undefined;
  readonly mtu: number | undefined;
  readonly dns: readonly string[];
  readonly elapsedMs: number;
}

export interface PingResult {
  readonly ok: boolean;
  readonly sent: number;
  readonly received: number;
  /** Average round trip, when any reply came. */
  readonly rttMs: number | undefined;
}

export interface TransferResult {
  readonly ok: boolean;
  readonly bytes: number;
  readonly sha256: string;
  readonly elapsedMs: number;
  readonly mbitPerS: number;
}

export interface SpoofResult {
  /** True when the forged datagram reached the destination's socket. */
  readonly arrived: boolean;
  /** Source address the destination saw, when it arrived. */
  readonly seenSrcIp: string | undefined;
  readonly srcIp: string;
  readonly srcMac: string;
}

const UDP_PROBE_PORT = 5999;

/** Applies a udhcpc lease with ip(8) and records it for {@link runDhcp}. */
const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script for Plexus lab workloads (busybox udhcpc).
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$subnet" broadcast + dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    if [ -n "$router" ]; then
      set -- $router
      ip route replace default via "$1" dev "$interface" || ip route replace default via "$1" dev "$interface" onlink
    fi
    printf 'ip=%s\\nsubnet=%s\\nrouter=%s\\nmtu=%s\\ndns=%s\\n' "$ip" "$subnet" "$router" "$mtu" "$dns" > "$PLEXUS_LEASE_FILE"
    ;;
esac
exit 0
`;

/** TCP sink: listens, hashes what arrives, prints one JSON line per event. */
const TCP_SERVER = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port] = process.argv.slice(1);
const server = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes: n, sha256: h.digest('hex') })); s.end(); server.close(); });
});
server.listen(Number(port), host, () => console.log(JSON.stringify({ listening: true })));
`;

/** TCP source: sends random bytes, prints their hash once the peer has closed. */
const TCP_CLIENT = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port, bytes] = process.argv.slice(1);
const data = crypto.randomBytes(Number(bytes));
const sha256 = crypto.createHash('sha256').update(data).digest('hex');
const s = net.connect(Number(port), host, () => s.end(data));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.on('data', () => {});
s.on('close', () => console.log(JSON.stringify({ bytes: data.length, sha256 })));
`;

/** UDP listener for spoof probes: prints the source of every datagram. */
const UDP_LISTENER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => console.log(JSON.stringify({ from: r.address, payload: m.toString() })));
s.bind(Number(process.argv[1]), '0.0.0.0', () => console.log(JSON.stringify({ listening: true })));
`;

/** UDP sender for spoof probes: binds the (possibly forged) source and sends a few copies. */
const UDP_SENDER = `
const dgram = require('node:dgram');
const [src, dst, port, payload] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
s.bind({ address: src === '-' ? '0.0.0.0' : src }, async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => s.send(payload, Number(port), dst, r));
    await new Promise((r) => setTimeout(r, 30));
  }
  s.close();
});
`;

/** The long-running helpers (listeners) the probes start, so the lab can stop them all. */
export class LabProcesses {
  private readonly running = new Set<NsProcess>();

  spawnIn(ns: string, cmd: string, args: readonly string[]): NsProcess {
    const p = NsProcess.spawn(ns, cmd, args);
    this.running.add(p);
    return p;
  }

  async stop(p: NsProcess): Promise<void> {
    await p.stop();
    this.running.delete(p);
  }

  async stopAll(): Promise<void> {
    for (const p of [...this.running]) await this.stop(p);
  }

  get pids(): (number | undefined)[] {
    return [...this.running].map((p) => p.pid);
  }
}

/**
 * Runs busybox udhcpc on the workload's eth0 and applies the lease (address,
 * mask, default route, MTU) with ip(8). Rejects with a NetnsError when no server
 * answers within `tries` DISCOVERs `intervalS` apart.
 */
export async function runDhcp(w: Workload, tmpDir: string, options: { tries?: number; intervalS?: number } = {}): Promise<DhcpLease> {
  const tries = options.tries ?? 5;
  const intervalS = options.intervalS ?? 1;
  const script = join(tmpDir, 'udhcpc.script');
  writeFileSync(script, UDHCPC_SCRIPT);
  chmodSync(script, 0o755);
  const leaseFile = join(tmpDir, `lease-${w.port}`);
  rmSync(leaseFile, { force: true });
  const t0 = Date.now();
  const r = await nsRun(w.netns, 'udhcpc', [
    '-f', '-i', 'eth0', '-n', '-q', '-t', String(tries), '-T', String(intervalS), '-O', 'mtu', '-s', script,
  ], {
    env: { ...process.env, PLEXUS_LEASE_FILE: leaseFile },
    allowFail: true,
    timeoutMs: (tries * intervalS + 10) * 1000,
  });
  let text: string;
  try {
    text = readFileSync(leaseFile, 'utf8');
  } catch {
    // udhcpc's deconfig event flushed whatever address eth0 had.
    w.ip = undefined;
    w.cidr = undefined;
    throw new NetnsError(
      `no DHCP lease for ${w.name} (iface-id ${w.ifaceId}, ${w.mac}) on ${w.host.id} after ${tries} DISCOVERs ${intervalS} s apart: ` +
        `udhcpc exited ${r.code}: ${(r.stderr + r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
      { recoverable: true },
    );
  }
  const env = Object.fromEntries(text.split('\n').filter(Boolean).map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1)];
  })) as Record<string, string>;
  const mask = env['subnet'] ?? '';
  const prefixLength = maskToPrefix(mask);
  const lease: DhcpLease = {
    ip: env['ip'] ?? '',
    mask,
    prefixLength,
    router: env['router']?.split(' ')[0] || undefined,
    mtu: env['mtu'] ? Number(env['mtu']) : undefined,
    dns: (env['dns'] ?? '').split(' ').filter(Boolean),
    elapsedMs: Date.now() - t0,
  };
  w.ip = lease.ip;
  w.cidr = `${lease.ip}/${prefixLength}`;
  return lease;
}

/** Pings from a workload; `timeoutMs` bounds the whole run (ping -w). */
export async function pingFrom(w: Workload, toIp: string, options: { count?: number; timeoutMs?: number; intervalMs?: number } = {}): Promise<PingResult> {
  const count = options.count ?? 3;
  const deadlineS = Math.max(1, Math.ceil((options.timeoutMs ?? 5000) / 1000));
  const intervalS = ((options.intervalMs ?? 200) / 1000).toFixed(3);
  const r = await nsRun(w.netns, 'ping', ['-n', '-q', '-c', String(count), '-i', intervalS, '-w', String(deadlineS), toIp], {
    allowFail: true,
    timeoutMs: deadlineS * 1000 + 5000,
  });
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  const sent = Number(counts?.[1] ?? 0);
  const received = Number(counts?.[2] ?? 0);
  return { ok: received > 0 && received >= Math.min(count, sent), sent, received, rttMs: rtt ? Number(rtt[1]) : undefined };
}

/**
 * Sends `bytes` random bytes over TCP from one workload to another on `port` and
 * checks they arrive intact (sha256 on both ends). Both ends are small node scripts
 * run with `ip netns exec`.
 */
export async function transferTcp(
  processes: LabProcesses,
  src: Workload,
  dst: Workload,
  port: number,
  bytes: number,
  options: { timeoutMs?: number } = {},
): Promise<TransferResult> {
  if (!dst.ip) throw new NetnsError(`workload ${dst.name} has no address`);
  const timeoutMs = options.timeoutMs ?? 20_000;
  const server = processes.spawnIn(dst.netns, process.execPath, ['-e', TCP_SERVER, dst.ip, String(port)]);
  try {
    await server.waitForLine((l) => l.includes('"listening"'), 10_000);
    const t0 = Date.now();
    const client = await nsRun(src.netns, process.execPath, ['-e', TCP_CLIENT, dst.ip, String(port), String(bytes)], {
      allowFail: true,
      timeoutMs,
    });
    const elapsedMs = Date.now() - t0;
    if (client.code !== 0) {
      throw new NetnsError(`TCP ${src.name} -> ${dst.name}:${port} failed (exit ${client.code}): ${client.stderr.trim() || 'timed out'}`);
    }
    const sent = JSON.parse(client.stdout.trim().split('\n').pop() ?? '{}') as { bytes: number; sha256: string };
    const got = JSON.parse(await server.waitForLine((l) => l.includes('"sha256"'), 5000)) as { bytes: number; sha256: string };
    return {
      ok: got.bytes === sent.bytes && got.sha256 === sent.sha256 && sent.bytes === bytes,
      bytes: got.bytes,
      sha256: got.sha256,
      elapsedMs,
      mbitPerS: (got.bytes * 8) / 1000 / Math.max(1, elapsedMs),
    };
  } finally {
    await processes.stop(server);
  }
}

/**
 * Sends a UDP datagram to `dst` with a forged source MAC and/or IPv4 address and
 * reports whether it reached the destination's socket. The sender's eth0 MAC is
 * changed, and the forged IP added as /32, only for the probe. The destination's MAC
 * is pinned in the sender's neighbour table for the probe, so no ARP is sent: this
 * tests the L2/L3 source checks, not ARP filtering. With neither forged, it is the
 * control probe.
 */
export async function sendSpoofedUdp(
  processes: LabProcesses,
  src: Workload,
  forged: { srcMac?: string; srcIp?: string },
  dst: Workload,
  toIp: string,
  options: { timeoutMs?: number } = {},
): Promise<SpoofResult> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const srcMac = forged.srcMac?.toLowerCase() ?? src.mac;
  const srcIp = forged.srcIp ?? src.ip ?? '0.0.0.0';
  const token = `plexus-probe-${randomBytes(6).toString('hex')}`;
  const listener = processes.spawnIn(dst.netns, process.execPath, ['-e', UDP_LISTENER, String(UDP_PROBE_PORT)]);
  const restore: (() => Promise<unknown>)[] = [];
  try {
    await listener.waitForLine((l) => l.includes('"listening"'), 10_000);
    if (forged.srcMac) {
      const realMac = await linkMac(src.netns, 'eth0');
      await ip(src.netns, 'link', 'set', 'dev', 'eth0', 'address', srcMac);
      restore.push(() => ip(src.netns, 'link', 'set', 'dev', 'eth0', 'address', realMac));
    }
    if (forged.srcIp && forged.srcIp !== src.ip) {
      await ip(src.netns, 'addr', 'add', `${forged.srcIp}/32`, 'dev', 'eth0');
      restore.push(() => ip(src.netns, 'addr', 'del', `${forged.srcIp}/32`, 'dev', 'eth0'));
    }
    await ip(src.netns, 'neigh', 'replace', toIp, 'lladdr', dst.mac, 'dev', 'eth0', 'nud', 'permanent');
    restore.push(() => ip(src.netns, 'neigh', 'del', toIp, 'dev', 'eth0'));
    await nsRun(src.netns, process.execPath, ['-e', UDP_SENDER, forged.srcIp ?? '-', toIp, String(UDP_PROBE_PORT), token]);
    const line = await listener.waitForLine((l) => l.includes(token), timeoutMs).catch(() => undefined);
    const seen = line ? (JSON.parse(line) as { from: string }).from : undefined;
    return { arrived: line !== undefined, seenSrcIp: seen, srcIp, srcMac };
  } finally {
    for (const undo of restore.reverse()) await undo().catch(() => undefined);
    await processes.stop(listener);
  }
}

function maskToPrefix(mask: string): number {
  let bytes: Buffer;
  try {
    bytes = parseIpv4(mask);
  } catch {
    return 0;
  }
  return [...bytes].reduce((n, p) => n + p.toString(2).replace(/0/g, '').length, 0);
}
