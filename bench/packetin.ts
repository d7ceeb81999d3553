/**
 * packetin (SPEC §10): packet-in throughput and latency of a controller, measured
 * with a load generator of ours that speaks OpenFlow 1.3 as N simulated switches
 * (bench/sim/sim-switch.ts), the way cbench does:
 *
 * - throughput: each switch keeps a window of packet-ins outstanding and sends a
 *   new one for every answer; answers per second over the run;
 * - latency: each switch keeps one packet-in outstanding; p50/p99 from sending it
 *   to receiving its answer.
 *
 * An answer is the PACKET_OUT that carries the frame (or, for DHCP, the reply):
 * every frame carries a 32-bit token at byte 46 (a UDP payload word, the DHCP
 * xid, ARP padding) that the answer echoes, so each answer is matched to its
 * packet-in and nothing is counted twice. FLOW_MODs are counted separately.
 * Packet-ins unanswered after 2 s count as lost and free their slot.
 *
 * Controllers:
 * - Plexus: a real plexusd; each simulated switch is a host it knows (an
 *   ovsdb-server per switch, bench/sim/ovsdb-host.ts, whose Bridge.datapath_id
 *   names the switch) with endpoints created through the REST API and bound to
 *   its ports. Plexus answers DHCP DISCOVERs from those ports with an OFFER in a
 *   PACKET_OUT; it installs forwarding proactively and does not learn, so other
 *   packet-ins are ignored by design (sent and checked separately).
 * - ovs-testcontroller --noflow (a C learning switch) or os-ken running
 *   bench/peers/os_ken_l2.py (a Python learning switch of ours), both sending
 *   one PACKET_OUT per packet-in and no flows, fed learning-switch traffic:
 *   unicast between MACs on different ports (80%), ARP requests (10%) and DHCP
 *   DISCOVERs (10%).
 *
 * Both controllers are set up first and then measured alternately, window by
 * window, for `--rounds` rounds (order flipped each round; figures are the
 * medians), so a change in what else the machine runs falls on both. The
 * generator shares the machine (and its cores) with the controller under test:
 * every throughput figure comes with the CPU both used meanwhile (cores, from
 * /proc) and the load average, and the generator replays packet-ins encoded
 * once per template (only the token is written per send) so that it costs
 * no more per packet than the controllers it measures (see *_generator_cpu_cores).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFPR } from '../protocols/openflow/constants';
import { DHCP_MESSAGE_TYPE, encodeDhcp } from '../protocols/packet/dhcp';
import { buildArpRequest, buildUdp } from '../protocols/packet/packet';
import { freePorts } from '../src/sandbox/plexusd-process';
import { isAlive, onExitCleanup, sleep, stopPid, trackPid, untrackPid, waitFor } from '../src/sandbox/processes';
import {
  formatSummary,
  parseOptions,
  percentile,
  ratio,
  readMachine,
  readVersions,
  repoRoot,
  round,
  writeResult,
  type BenchContext,
  type BenchDefinition,
  type Figures,
  type OptionDef,
  type Options,
} from './framework';
import { startPlexusd, Teardown, type Stoppable } from './sandbox';
import { startSimHosts } from './sim/sim-host';
import { SimSwitch, type EncodedPacketIn, type SimSwitchEvent } from './sim/sim-switch';

export type Peer = 'os-ken' | 'ovs-testcontroller' | 'node-floor';

/** How each peer is started on `port`, in its own temp dir, and the key its figures go under. */
const PEERS: Record<Peer, { readonly key: string; readonly command: (port: number, dir: string) => [string, string[]] }> = {
  'ovs-testcontroller': {
    key: 'ovs_testcontroller',
    command: (port, dir) => ['ovs-testcontroller', ['-O', 'OpenFlow13', '--noflow', `ptcp:${port}:127.0.0.1`, `--unixctl=${join(dir, 'ctl')}`, `--log-file=${join(dir, 'log')}`, '-vconsole:off']],
  },
  'os-ken': {
    key: 'osken',
    command: (port) => ['osken-manager', ['--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), join(repoRoot(), 'bench', 'peers', 'os_ken_l2.py')]],
  },
  'node-floor': {
    key: 'node_floor',
    command: (port) => [process.execPath, [join(__dirname, 'peers', 'node-floor.js'), String(port)]],
  },
};

const TOKEN_OFFSET = 46;
/** UDP checksum of an untagged IPv4 frame without options: zeroed (legal for IPv4) once the token is written. */
const UDP_CHECKSUM_OFFSET = 40;
const LOST_AFTER_MS = 2000;
const ENDPOINTS_PER_SWITCH = 4;
/** Learning-switch traffic: MACs per switch, spread over this many ports. */
const MACS_PER_SWITCH = 16;
const LEARNING_PORTS = 4;

const OPTIONS: readonly OptionDef[] = [
  { name: 'seconds', kind: 'number', default: 10, help: 'seconds of each measurement (throughput, latency) per controller' },
  { name: 'switches', kind: 'number', default: 16, help: 'simulated switches (for Plexus: hosts, each with its own ovsdb-server)' },
  { name: 'peer', kind: 'string', default: 'ovs-testcontroller', help: 'controller to compare with: ovs-testcontroller | os-ken | node-floor (the least a Node controller does: bench/peers/node-floor.ts)' },
  { name: 'window', kind: 'string', default: '32', help: 'outstanding packet-ins per switch in throughput mode; a list (1,8,32) measures each, both controllers' },
  { name: 'rounds', kind: 'number', default: 1, help: 'rounds of every window on both controllers, alternating (figures: the median)' },
  { name: 'profile-plexusd', kind: 'boolean', default: false, help: 'CPU-profile plexusd (.cpuprofile in bench/results)' },
];

// ---------------------------------------------------------------------------
// Frames

function mac(a: number, b: number, c: number): string {
  return [0x02, 0x42, (a >> 8) & 255, a & 255, b & 255, c & 255].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function dhcpDiscover(srcMac: string): Buffer {
  const payload = encodeDhcp({ op: 1, xid: 0, chaddr: srcMac, options: [{ type: 'message-type', messageType: DHCP_MESSAGE_TYPE.DISCOVER }] });
  return buildUdp({ srcMac, dstMac: 'ff:ff:ff:ff:ff:ff', src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload });
}

function udpFrame(srcMac: string, dstMac: string, a: number, b: number): Buffer {
  return buildUdp({ srcMac, dstMac, src: `10.66.${a >> 8}.${a & 255}`, dst: `10.66.${b >> 8}.${b & 255}`, srcPort: 5000, dstPort: 5001, payload: Buffer.alloc(18) });
}

function arpFrame(srcMac: string, a: number, b: number): Buffer {
  const f = buildArpRequest({ srcMac, srcIp: `10.66.${a >> 8}.${a & 255}`, targetIp: `10.66.${b >> 8}.${b & 255}` });
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
}

/** A frame template and where to send it from; `isUdp` frames get their checksum zeroed. */
interface Template {
  readonly inPort: number;
  readonly frame: Buffer;
  readonly isUdp: boolean;
  readonly reason: number;
}

function stamp(t: Template, token: number): Buffer {
  const f = Buffer.from(t.frame);
  f.writeUInt32BE(token, TOKEN_OFFSET);
  if (t.isUdp) f.writeUInt16BE(0, UDP_CHECKSUM_OFFSET);
  return f;
}

/** Learning-switch mix for switch `s`: 80% unicast between MACs on different ports, 10% ARP, 10% DHCP. */
function learningTemplates(s: number): Template[] {
  const portOf = (i: number): number => (i % LEARNING_PORTS) + 1;
  const out: Template[] = [];
  for (let i = 0; i < MACS_PER_SWITCH; i++) {
    const src = mac(s, 1, i);
    for (let k = 0; k < 8; k++) {
      let j = (i + 1 + k * 3) % MACS_PER_SWITCH;
      if (portOf(j) === portOf(i)) j = (j + 1) % MACS_PER_SWITCH;
      out.push({ inPort: portOf(i), frame: udpFrame(src, mac(s, 1, j), i, j), isUdp: true, reason: OFPR.NO_MATCH });
    }
    out.push({ inPort: portOf(i), frame: arpFrame(src, i, (i + 5) % MACS_PER_SWITCH), isUdp: false, reason: OFPR.NO_MATCH });
    out.push({ inPort: portOf(i), frame: dhcpDiscover(src), isUdp: true, reason: OFPR.NO_MATCH });
  }
  return out;
}

// ---------------------------------------------------------------------------
// The load generator

interface GenSwitch {
  readonly sim: SimSwitch;
  readonly templates: readonly Template[];
  /** Each template's packet-ins as the switch encodes them (encoded once, the token patched per send). */
  encoded?: (readonly EncodedPacketIn[] | undefined)[];
  next: number;
  /** token → send time (ms, high resolution) */
  readonly pending: Map<number, number>;
}

export interface ThroughputResult {
  readonly perS: number;
  readonly answered: number;
  readonly sent: number;
  readonly lost: number;
  readonly flowMods: number;
  readonly unmatched: number;
}

/** Drives packet-ins through simulated switches and matches the answers. */
export class LoadGenerator {
  private mode: 'idle' | 'throughput' | 'latency' = 'idle';
  private window = 1;
  private token = 1;
  private answered = 0;
  private sent = 0;
  private lost = 0;
  private flowMods = 0;
  private unmatched = 0;
  private samples: number[] | undefined;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly switches: readonly GenSwitch[]) {
    for (const g of switches) g.sim.on('event', (e: SimSwitchEvent) => this.onEvent(g, e));
    // One timer for all switches: expire lost packet-ins and refill their slots.
    this.sweeper = setInterval(() => this.sweep(), 250);
  }

  private onEvent(g: GenSwitch, e: SimSwitchEvent): void {
    if (e.kind === 'flow_mod') {
      this.flowMods++;
      return;
    }
    if (e.kind !== 'packet_out') return;
    const data = e.message.data;
    const token = data && data.length >= TOKEN_OFFSET + 4 ? data.readUInt32BE(TOKEN_OFFSET) : -1;
    const t0 = g.pending.get(token);
    if (t0 === undefined) {
      this.unmatched++;
      return;
    }
    g.pending.delete(token);
    this.answered++;
    this.samples?.push(performance.now() - t0);
    this.fill(g);
  }

  private fill(g: GenSwitch): void {
    if (this.mode === 'idle' || !g.sim.isConnected) return;
    while (g.pending.size < this.window) {
      const index = g.next;
      const t = g.templates[index]!;
      g.next = (g.next + 1) % g.templates.length;
      const token = this.token;
      this.token = this.token >= 0xfffffff0 ? 1 : this.token + 1;
      g.pending.set(token, performance.now());
      if (this.send(g, t, index, token) === 0) {
        g.pending.delete(token);
        return;
      }
      this.sent++;
    }
  }

  /**
   * Sends template `index` with `token`: the switch encodes it once per session
   * (as `sendPacketIn` would) and later sends reuse the bytes with the token
   * written in, so the generator spends little per packet-in (issue 17: it must
   * not be what limits the controllers). Re-encoded when a session went away.
   */
  private send(g: GenSwitch, t: Template, index: number, token: number): number {
    const encoded = (g.encoded ??= []);
    let e = encoded[index];
    if (!e) encoded[index] = e = g.sim.encodePacketIn({ inPort: t.inPort, data: stamp(t, 0), reason: t.reason });
    for (const x of e) x.bytes.writeUInt32BE(token, x.dataAt + TOKEN_OFFSET);
    const sent = g.sim.sendEncodedPacketIn(e);
    if (sent === 0 || sent < e.length) encoded[index] = undefined;
    return sent;
  }

  private sweep(): void {
    const now = performance.now();
    for (const g of this.switches) {
      for (const [token, t0] of g.pending) {
        if (now - t0 > LOST_AFTER_MS) {
          g.pending.delete(token);
          this.lost++;
        }
      }
      this.fill(g);
    }
  }

  private reset(): void {
    this.answered = this.sent = this.lost = this.flowMods = this.unmatched = 0;
  }

  private async drain(): Promise<void> {
    this.mode = 'idle';
    const deadline = Date.now() + LOST_AFTER_MS + 500;
    while (this.switches.some((g) => g.pending.size > 0) && Date.now() < deadline) await sleep(20);
    for (const g of this.switches) g.pending.clear();
  }

  /** Warm-up, then `seconds` with `window` outstanding per switch. */
  async throughput(seconds: number, window: number, meter?: { start(): void; stop(): void }, warmupS = 1): Promise<ThroughputResult> {
    this.window = window;
    this.mode = 'throughput';
    for (const g of this.switches) this.fill(g);
    await sleep(warmupS * 1000);
    this.reset();
    meter?.start();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsedS = (performance.now() - t0) / 1000;
    meter?.stop();
    const r = { perS: this.answered / elapsedS, answered: this.answered, sent: this.sent, lost: this.lost, flowMods: this.flowMods, unmatched: this.unmatched };
    await this.drain();
    return r;
  }

  /** `seconds` with one packet-in outstanding per switch; latency samples in ms. */
  async latency(seconds: number): Promise<{ samplesMs: number[]; lost: number }> {
    this.window = 1;
    this.reset();
    this.samples = [];
    this.mode = 'latency';
    for (const g of this.switches) this.fill(g);
    await sleep(seconds * 1000);
    const samplesMs = this.samples;
    this.samples = undefined;
    const lost = this.lost;
    await this.drain();
    return { samplesMs, lost };
  }

  /** Sends `count` packet-ins per switch at once and counts the answers that arrive within `waitMs`. */
  async burst(count: number, waitMs: number): Promise<{ sent: number; answered: number }> {
    this.reset();
    this.window = count;
    this.mode = 'throughput';
    for (const g of this.switches) this.fill(g);
    this.mode = 'idle';
    await sleep(waitMs);
    const r = { sent: this.sent, answered: this.answered };
    for (const g of this.switches) g.pending.clear();
    return r;
  }

  stop(): void {
    this.mode = 'idle';
    clearInterval(this.sweeper);
  }
}

// ---------------------------------------------------------------------------
// CPU of each side

/** CPU seconds a process has used so far (user + system, from /proc), or NaN when it is gone. */
function processCpuS(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Read and write system calls a process has made so far (/proc/PID/io), or NaN. */
function processSyscalls(pid: number | 'self' | undefined): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: NaN, writes: NaN };
  }
}

/**
 * Measures, between start and stop, the CPU of the generator (this process) and
 * of the controller, in cores (CPU s per wall s), and the controller's write
 * system calls (how well it batches its answers).
 */
class CpuMeter {
  private gen0 = process.cpuUsage();
  private ctl0 = 0;
  private writes0 = 0;
  private t0 = 0;
  generatorCores = NaN;
  controllerCores = NaN;
  controllerWrites = NaN;

  constructor(private readonly controllerPid: number | undefined) {}

  start(): void {
    this.gen0 = process.cpuUsage();
    this.ctl0 = processCpuS(this.controllerPid);
    this.writes0 = processSyscalls(this.controllerPid).writes;
    this.t0 = performance.now();
  }

  stop(): void {
    const wallS = (performance.now() - this.t0) / 1000;
    const gen = process.cpuUsage(this.gen0);
    this.generatorCores = round((gen.user + gen.system) / 1e6 / wallS, 2);
    this.controllerCores = round((processCpuS(this.controllerPid) - this.ctl0) / wallS, 2);
    this.controllerWrites = processSyscalls(this.controllerPid).writes - this.writes0;
  }
}

function loadAverage1m(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

// ---------------------------------------------------------------------------
// Controllers under test, measured side by side

/** A controller ready to be measured: its load generator (switches connected, traffic templates set) and its pid. */
interface Subject {
  readonly key: string;
  readonly label: string;
  readonly gen: LoadGenerator;
  readonly pid: number | undefined;
  /** Figures found while setting it up (Plexus: flows installed, packet-ins it must not answer). */
  readonly setup: Figures;
}

type Sample = ThroughputResult & { readonly generatorCores: number; readonly controllerCores: number; readonly answersPerWrite: number; readonly load1m: number };

async function measureThroughput(s: Subject, seconds: number, window: number, progress: (m: string) => void): Promise<Sample> {
  const meter = new CpuMeter(s.pid);
  const t = await s.gen.throughput(seconds, window, meter);
  const load1m = loadAverage1m();
  progress(
    `${s.label} w${window}: ${Math.round(t.perS)} answers/s (${t.lost} lost, ${t.unmatched} unmatched); ` +
      `CPU: controller ${meter.controllerCores} cores, generator ${meter.generatorCores} cores; ` +
      (s.key === 'plexus' ? `${round(t.answered / meter.controllerWrites, 1)} answers per write(2); ` : '') + `load ${load1m}`,
  );
  return { ...t, generatorCores: meter.generatorCores, controllerCores: meter.controllerCores, answersPerWrite: t.answered / meter.controllerWrites, load1m };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Both controllers run at once; each round measures every window on one, then
 * on the other (the order flips every round), so a change in what else the
 * machine runs falls on both. Per window: the median over rounds.
 */
async function measureSideBySide(subjects: readonly Subject[], seconds: number, windows: readonly number[], rounds: number, progress: (m: string) => void): Promise<Figures> {
  const samples = new Map<string, Sample[]>();
  for (let r = 0; r < rounds; r++) {
    for (const window of windows) {
      for (const s of r % 2 ? [...subjects].reverse() : subjects) {
        const list = samples.get(`${s.key}/${window}`) ?? [];
        list.push(await measureThroughput(s, seconds, window, progress));
        samples.set(`${s.key}/${window}`, list);
      }
    }
  }
  const out: Figures = {};
  for (const s of subjects) {
    for (const window of windows) {
      const list = samples.get(`${s.key}/${window}`)!;
      out[`${s.key}_w${window}_per_s`] = round(median(list.map((x) => x.perS)), 0);
      out[`${s.key}_w${window}_cpu_cores`] = round(median(list.map((x) => x.controllerCores)), 2);
      out[`${s.key}_w${window}_generator_cpu_cores`] = round(median(list.map((x) => x.generatorCores)), 2);
      // A node process writes with write(2)/writev(2); OVS sends with sendmsg(2), which /proc/PID/io does not count.
      if (s.key === 'plexus') out[`${s.key}_w${window}_answers_per_write`] = round(median(list.map((x) => x.answersPerWrite)), 1);
      out[`${s.key}_w${window}_load1m`] = round(median(list.map((x) => x.load1m)), 2);
      if (rounds > 1) out[`${s.key}_w${window}_rounds_per_s`] = list.map((x) => Math.round(x.perS)).join('/');
    }
    const all = windows.flatMap((w) => samples.get(`${s.key}/${w}`)!);
    out[`${s.key}_lost`] = all.reduce((a, x) => a + x.lost, 0);
    out[`${s.key}_unmatched`] = all.reduce((a, x) => a + x.unmatched, 0);
    out[`${s.key}_flow_mods`] = all.reduce((a, x) => a + x.flowMods, 0);
    out[`${s.key}_per_s`] = out[`${s.key}_w${windows[windows.length - 1]}_per_s`]!;
  }
  for (const s of subjects) {
    progress(`${s.label}: latency for ${seconds} s (one packet-in outstanding per switch)`);
    const lat = await s.gen.latency(seconds);
    out[`${s.key}_p50_ms`] = round(percentile(lat.samplesMs, 50), 3);
    out[`${s.key}_p99_ms`] = round(percentile(lat.samplesMs, 99), 3);
    out[`${s.key}_latency_n`] = lat.samplesMs.length;
    out[`${s.key}_lost`] = Number(out[`${s.key}_lost`]) + lat.lost;
    progress(`${s.label}: p50 ${out[`${s.key}_p50_ms`]} ms, p99 ${out[`${s.key}_p99_ms`]} ms over ${lat.samplesMs.length} samples`);
  }
  return out;
}

interface Api {
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

async function post<T>(p: Api, path: string, body: unknown): Promise<T> {
  const r = await p.api<T>('POST', path, body);
  if (r.status !== 201) throw new Error(`POST ${path} answered ${r.status}: ${JSON.stringify(r.body)} (is the model API in place?)`);
  return r.body;
}

/** Plexus with N simulated hosts, each an ovsdb-server plus a simulated switch, and endpoints on every one. */
async function setupPlexus(n: number, progress: (m: string) => void, teardown: Teardown, profileFile?: string): Promise<Subject> {
  const plexusd = teardown.add(await startPlexusd({ logLevel: 'warn' }, profileFile));
  const p = plexusd.process;
  if (profileFile) progress(`plexusd writes a CPU profile to ${profileFile} when it stops`);
  progress(`plexusd up (api ${p.url}); starting ${n} ovsdb-servers`);
  const simHosts = await startSimHosts({
    count: n, plexusd: p, idPrefix: 'pin', dpidBase: 0x0000_5000_0000_0000n, teardown, readyTimeoutMs: 60_000,
    encapIp: (i) => `127.3.${i >> 8}.${(i & 255) + 1}`,
    ports: (i) => Array.from({ length: ENDPOINTS_PER_SWITCH }, (_, k) => ({ portNo: k + 1, name: `pin${i}-ep${k}` })),
  });
  const hosts = simHosts.map((h) => h.ovsdb);
  const sims = simHosts.map((h) => h.sim);
  progress(`${n} hosts ready; creating ${n * ENDPOINTS_PER_SWITCH} endpoints`);
  const network = await post<{ id: string }>(p, '/v1/networks', { name: 'bench-packetin' });
  await post(p, '/v1/subnets', { network: network.id, cidr: '10.77.0.0/16', dhcp: true });
  const endpoints: { id: string; mac: string; ips: string[] }[][] = [];
  for (let i = 0; i < n; i++) {
    const list = [];
    for (let k = 0; k < ENDPOINTS_PER_SWITCH; k++) {
      list.push(await post<{ id: string; mac: string; ips: string[] }>(p, '/v1/endpoints', { network: network.id, name: `pin${i}-ep${k}`, kind: 'container' }));
    }
    endpoints.push(list);
  }
  await Promise.all(hosts.map((h, i) => h.addInterfaces(endpoints[i]!.map((e, k) => ({
    name: `pin${i}-ep${k}`, ofport: k + 1, externalIds: { 'iface-id': e.id, 'attached-mac': e.mac, container_id: `pin${i}-ep${k}` },
  })))));
  await waitFor('every endpoint installed', async () => {
    for (const h of hosts) {
      const ids = await h.interfaceIds();
      if ([...ids.values()].filter((x) => x['plexus-installed'] === 'true').length < ENDPOINTS_PER_SWITCH) return false;
    }
    return true;
  }, 120_000, 250);
  const flows = sims.reduce((a, s) => a + s.flows.size, 0);
  progress(`endpoints installed (${flows} flows on ${n} simulated switches)`);

  // Traffic Plexus does not answer by design (it forwards with proactive flows): must get no answer.
  const ignoredGen = new LoadGenerator(sims.map((sim, i) => ({
    sim, next: 0, pending: new Map(),
    templates: endpoints[i]!.flatMap((e, k) => [
      { inPort: k + 1, frame: udpFrame(e.mac, endpoints[i]![(k + 1) % ENDPOINTS_PER_SWITCH]!.mac, k, k + 1), isUdp: true, reason: OFPR.NO_MATCH },
      { inPort: k + 1, frame: arpFrame(e.mac, k, k + 1), isUdp: false, reason: OFPR.NO_MATCH },
    ]),
  })));
  const ignored = await ignoredGen.burst(50, 1000);
  ignoredGen.stop();
  progress(`plexus: ${ignored.sent} unicast/ARP packet-ins, ${ignored.answered} answered (expected 0)`);

  // DHCP DISCOVERs from the bound ports, punted as by Plexus' DHCP flow (reason ACTION).
  const gen = new LoadGenerator(sims.map((sim, i) => ({
    sim, next: 0, pending: new Map(),
    templates: endpoints[i]!.map((e, k) => ({ inPort: k + 1, frame: dhcpDiscover(e.mac), isUdp: true, reason: OFPR.ACTION })),
  })));
  teardown.add({ stop: async () => gen.stop() });
  return {
    key: 'plexus', label: 'plexus dhcp', gen, pid: p.pid,
    setup: { plexus_ignored_sent: ignored.sent, plexus_ignored_answered: ignored.answered, plexus_installed_flows: flows },
  };
}

/** Spawns a controller process (tracked by pid) and waits for its OpenFlow port. */
async function startPeer(peer: Peer, teardown: Teardown): Promise<{ port: number; pid: number }> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), `plexus-bench-${peer}-`));
  const forget = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const [cmd, args] = PEERS[peer].command(port!, dir);
  let output = '';
  const child: ChildProcess = spawn(cmd, args as string[], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const pid = child.pid!;
  trackPid(pid);
  teardown.add({
    stop: async () => {
      if (isAlive(pid)) await stopPid(pid);
      untrackPid(pid);
      rmSync(dir, { recursive: true, force: true });
      forget();
    },
  } satisfies Stoppable);
  await waitFor(`${peer} listening on ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`${peer} exited ${child.exitCode}: ${output}`);
    return new Promise<boolean>((resolve) => {
      const s = connect({ port: port!, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }, 30_000, 100);
  return { port: port!, pid };
}

async function setupPeer(peer: Peer, n: number, progress: (m: string) => void, teardown: Teardown): Promise<Subject> {
  const { port, pid } = await startPeer(peer, teardown);
  progress(`${peer} listening on ${port}; connecting ${n} simulated switches`);
  const sims: SimSwitch[] = [];
  for (let i = 0; i < n; i++) {
    const ports = Array.from({ length: LEARNING_PORTS }, (_, k) => ({ portNo: k + 1, name: `s${i}-p${k + 1}` }));
    const sim = new SimSwitch({ datapathId: 0x0000_6000_0000_0000n + BigInt(i + 1), ports });
    teardown.add({ stop: async () => sim.close() });
    await sim.connect(port);
    sims.push(sim);
  }
  // Let the controller finish its handshake requests (features, port descriptions, table-miss flow).
  await sleep(1000);
  const gen = new LoadGenerator(sims.map((sim, i) => ({ sim, next: 0, pending: new Map(), templates: learningTemplates(i) })));
  teardown.add({ stop: async () => gen.stop() });
  return { key: PEERS[peer].key, label: peer, gen, pid, setup: {} };
}

// ---------------------------------------------------------------------------
// Entry points

/** Runs the benchmark; `figures` lead with the summary keys of SPEC §10's line. */
export async function run(options: Options, progress: (m: string) => void = () => undefined): Promise<{ figures: Figures; options: Options }> {
  const seconds = Number(options.seconds ?? 10);
  const n = Number(options.switches ?? 16);
  const windows = String(options.window ?? '32').split(',').map(Number);
  const peer = String(options.peer ?? 'ovs-testcontroller') as Peer;
  if (!Object.hasOwn(PEERS, peer)) throw new Error(`--peer must be one of ${Object.keys(PEERS).join(', ')}, not ${peer}`);
  if (!(seconds > 0 && seconds <= 600) || !(n >= 1 && n <= 1000) || !windows.every((w) => Number.isInteger(w) && w >= 1 && w <= 1024)) {
    throw new Error('--seconds must be in (0, 600], --switches in [1, 1000], --window in [1, 1024] (or a list of them)');
  }
  const profileFile = options['profile-plexusd'] ? join(repoRoot(), 'bench', 'results', `plexusd-packetin-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`) : undefined;
  const rounds = Number(options.rounds ?? 1);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('--rounds must be in [1, 20]');
  const cpu0 = process.cpuUsage();
  const teardown = new Teardown();
  let measured: Figures;
  let subjects: Subject[];
  try {
    subjects = [await setupPlexus(n, progress, teardown, profileFile), await setupPeer(peer, n, progress, teardown)];
    measured = await measureSideBySide(subjects, seconds, windows, rounds, progress);
  } finally {
    await teardown.run();
  }
  const key = subjects[1]!.key;
  const cpu = process.cpuUsage(cpu0);
  const figures: Figures = {
    plexus_per_s: measured.plexus_per_s!,
    [`${key}_per_s`]: measured[`${key}_per_s`]!,
    ratio: ratio(measured.plexus_per_s, measured[`${key}_per_s`]),
    ...Object.fromEntries(windows.map((w) => [`ratio_w${w}`, ratio(measured[`plexus_w${w}_per_s`], measured[`${key}_w${w}_per_s`])])),
    plexus_p50_ms: measured.plexus_p50_ms!,
    plexus_p99_ms: measured.plexus_p99_ms!,
    ...measured,
    ...subjects[0]!.setup,
    switches: n,
    rounds,
    generator_cpu_s: round((cpu.user + cpu.system) / 1e6, 1),
  };
  return { figures, options: { seconds, switches: n, window: windows.join(','), peer } };
}

export const packetinBench: BenchDefinition = {
  name: 'packetin',
  summary: 'packet-in throughput and latency (DHCP for Plexus) vs. a learning-switch controller, cbench-style',
  options: OPTIONS,
  run: async (ctx: BenchContext) => {
    ctx.useVersion('etcd');
    return (await run(ctx.options, (m) => ctx.progress(m))).figures;
  },
};

/** `npx tsx bench/packetin.ts --seconds S [--switches N] [--peer os-ken|ovs-testcontroller]` */
async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions([...OPTIONS, { name: 'timeout', kind: 'number', default: 900, help: 'seconds before the run is abandoned' }], argv);
  onExitCleanup(() => undefined);
  const timer = setTimeout(() => {
    process.stderr.write('packetin: timed out; stopping everything it started\n');
    process.exit(124);
  }, Number(options.timeout) * 1000);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const progress = (m: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  try {
    const { figures, options: used } = await run(options, progress);
    const file = writeResult({
      name: 'packetin', figures, options: used, machine: readMachine(), versions: await readVersions(['node', 'ovs', 'etcd']),
      startedAt, durationS: round((performance.now() - t0) / 1000, 1),
    });
    progress(`result written to ${file}`);
    process.stdout.write(`${formatSummary('packetin', figures)}\n`);
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`packetin failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
