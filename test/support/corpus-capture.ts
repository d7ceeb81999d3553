/**
 * Captures what Open vSwitch sends for a corpus of flows, groups and meters
 * (test/protocols/openflow/ovs-corpus.ts), and checks each captured message
 * against the codec:
 *
 * 1. `ovs-ofctl` sends the corpus to an {@link OfpCapture} playing the switch.
 * 2. A sandboxed `ovs-vswitchd` (dummy datapath) gets exactly those bytes from an
 *    OfpCapture playing the controller, and is asked about what it installed:
 *    flow stats, group and meter desc/stats/features, ports, tables.
 *
 * A message passes when it decodes, re-encodes to the bytes OVS sent, and no
 * action or match field of a kind the codec models came back opaque.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NXAST, OFPAT, type Action } from '../../protocols/openflow/actions';
import { encodeMessage } from '../../protocols/openflow/codec';
import { NX_VENDOR_ID, OFPFC, OFPT } from '../../protocols/openflow/constants';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match, UnknownOxm } from '../../protocols/openflow/match';
import type { Decoded, MultipartRequestBody } from '../../protocols/openflow/messages';
import { OvsHost } from '../../src/sandbox/ovs-host';
import { run, waitFor } from '../../src/sandbox/processes';
import type { OfctlCorpus } from '../protocols/openflow/ovs-corpus';
import { OfpCapture, type CapturedMessage } from './ofp-capture';

/** The corpus line that produced a message (by cookie, group id or meter id), if any. */
export function originOf(corpus: OfctlCorpus, m: Decoded): string | undefined {
  if (m.type === 'flow_mod') return m.cookie === undefined ? undefined : corpus.flows[Number(m.cookie) - 1];
  if (m.type === 'group_mod') return corpus.groups.find((g) => g.startsWith(`group_id=${m.groupId},`));
  if (m.type === 'meter_mod') return corpus.meters.find((g) => g.startsWith(`meter=${m.meterId},`));
  return undefined;
}

/** What is wrong with one captured message, or undefined. */
export function checkMessage(c: CapturedMessage, origin: (m: Decoded) => string | undefined = () => undefined): string | undefined {
  const raw = c.raw.toString('hex');
  if (!c.decoded) return `decode failed: ${c.error?.message}\n  ovs  ${raw}`;
  const from = origin(c.decoded);
  const where = `${c.decoded.type}${from ? ` from ${from}` : ''}`;
  let ours: string;
  try {
    ours = encodeMessage(c.decoded).toString('hex');
  } catch (err) {
    return `${where}: re-encode failed: ${(err as Error).message}\n  ovs  ${raw}`;
  }
  if (ours !== raw) return `${where}: bytes differ\n  ovs  ${raw}\n  ours ${ours}`;
  const opaque = findOpaqueModelled(c.decoded);
  if (opaque.length > 0) return `${where}: modelled content came back opaque: ${opaque.join('; ')}\n  ovs  ${raw}`;
  return undefined;
}

function describeUnknown(f: UnknownOxm): string {
  return `class 0x${f.oxmClass.toString(16)} field ${f.fieldNum}${f.experimenter === undefined ? '' : ` experimenter 0x${f.experimenter.toString(16)}`}`;
}

const NX_SUBTYPES = new Set<number>(Object.values(NXAST));
const STD_TYPES = new Set<number>(Object.values(OFPAT).filter((t) => t !== OFPAT.EXPERIMENTER));

/** Actions and match entries of a kind this codec models that it nevertheless kept as bytes. */
export function findOpaqueModelled(m: Decoded): string[] {
  const out: string[] = [];
  const visitMatch = (match: Match): void => {
    for (const f of match) if (f.field === 'unknown') out.push(`OXM ${describeUnknown(f as UnknownOxm)}`);
  };
  const visitActions = (actions: readonly Action[]): void => {
    for (const a of actions) {
      if (a.type === 'experimenter' && a.experimenter === NX_VENDOR_ID && a.data.length >= 2 && NX_SUBTYPES.has(a.data.readUInt16BE(0))) {
        out.push(`Nicira action ${a.data.readUInt16BE(0)} ${a.data.toString('hex')}`);
      }
      if (a.type === 'unknown' && STD_TYPES.has(a.actionType)) out.push(`action type ${a.actionType} ${a.data.toString('hex')}`);
      if (a.type === 'set_field' && a.field === 'unknown') out.push(`set_field OXM ${describeUnknown(a as unknown as UnknownOxm)}`);
      if (a.type === 'clone' || a.type === 'ct') visitActions(a.actions ?? []);
    }
  };
  const visitInstructions = (instructions: readonly Instruction[]): void => {
    for (const i of instructions) if (i.type === 'apply_actions' || i.type === 'write_actions') visitActions(i.actions);
  };
  if (m.type === 'flow_mod') {
    visitMatch(m.match);
    visitInstructions(m.instructions ?? []);
  }
  if (m.type === 'group_mod') for (const b of m.buckets ?? []) visitActions(b.actions);
  if (m.type === 'multipart_reply' && m.body.kind === 'flow') {
    for (const e of m.body.entries) {
      visitMatch(e.match);
      visitInstructions(e.instructions);
    }
  }
  if (m.type === 'multipart_reply' && m.body.kind === 'group_desc') {
    for (const g of m.body.entries) for (const b of g.buckets) visitActions(b.actions);
  }
  return out;
}

/** Runs `ovs-ofctl -O OpenFlow13` commands, `width` at a time. */
async function runOfctl(commands: readonly string[][], width: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < commands.length) {
      const args = commands[next++]!;
      await run('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { timeoutMs: 60_000 });
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Every tenth flow of the corpus also goes in one ONF bundle (`--bundle add-flows`). */
export function bundledFlows(corpus: OfctlCorpus): string[] {
  return corpus.flows.filter((_, i) => i % 10 === 0);
}

const OFPFF_SEND_FLOW_REM = 1;

/** Group and meter commands besides the corpus' adds: 3 more group mods and 3 more meter mods. */
export const EXTRA_GROUP_MODS = 3;
export const EXTRA_METER_MODS = 3;

/**
 * Every message `ovs-ofctl` sends for the corpus. It opens one connection for
 * table features, one for port descriptions and one for the mods and their
 * barriers, per invocation; invocations run four at a time.
 */
export async function captureFromOfctl(corpus: OfctlCorpus): Promise<CapturedMessage[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-corpus-'));
  const cap = await OfpCapture.listen('switch');
  try {
    writeFileSync(join(dir, 'flows.txt'), `${corpus.flows.join('\n')}\n`);
    writeFileSync(join(dir, 'bundle.txt'), `${bundledFlows(corpus).join('\n')}\n`);
    writeFileSync(join(dir, 'groups.txt'), `${corpus.groups.join('\n')}\n`);
    await runOfctl([
      ['add-flows', cap.target, join(dir, 'flows.txt')],
      ['--bundle', 'add-flows', cap.target, join(dir, 'bundle.txt')],
      ['add-groups', cap.target, join(dir, 'groups.txt')],
      ...corpus.meters.map((m) => ['add-meter', cap.target, m]),
      ...corpus.packetOuts.map((p) => ['packet-out', cap.target, p]),
      ['mod-group', cap.target, 'group_id=1,type=select,bucket=weight:5,output:3'],
      ['del-groups', cap.target, 'group_id=2'],
      ['del-groups', cap.target],
      ['mod-meter', cap.target, 'meter=1,pktps,bands=type=drop,rate=7'],
      ['del-meters', cap.target, 'meter=3'],
      ['del-meters', cap.target],
    ], 4);
    return cap.messages;
  } finally {
    await cap.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SwitchCapture {
  /** Error replies to what was replayed, keyed by the corpus line (or message type) in `sent`. */
  readonly errors: readonly CapturedMessage[];
  /** Replies to the multipart requests (every part of each). */
  readonly replies: readonly CapturedMessage[];
  /** FLOW_REMOVED for the flows with send_flow_rem, deleted by us. */
  readonly removed: readonly CapturedMessage[];
  /** Replayed xid → what it was. */
  readonly sent: ReadonlyMap<number, string>;
  readonly flowModsSent: number;
  readonly flowModsRefused: number;
}

/** The multipart requests asked of the switch once the corpus is installed. */
const REQUESTS: readonly MultipartRequestBody[] = [
  { kind: 'flow' }, { kind: 'aggregate' }, { kind: 'group_desc' }, { kind: 'group_stats' }, { kind: 'group_features' },
  { kind: 'meter_config' }, { kind: 'meter_stats' }, { kind: 'meter_features' }, { kind: 'port_desc' },
  { kind: 'port_stats' }, { kind: 'table' }, { kind: 'desc' }, { kind: 'table_features' },
];

/**
 * Replays the meter and group adds and every flow mod `ovs-ofctl` sent, byte for
 * byte (only the xid renumbered), to a sandboxed ovs-vswitchd, then captures its
 * replies about what it installed, and the FLOW_REMOVED messages it sends when
 * the flows installed with send_flow_rem are deleted.
 */
export async function captureFromSwitch(fromOfctl: readonly CapturedMessage[], origin: (m: Decoded) => string | undefined): Promise<SwitchCapture> {
  const host = await OvsHost.start({ name: 'corpus', dummy: true });
  const cap = await OfpCapture.listen('controller');
  try {
    const ports = Array.from({ length: 10 }, (_, i) => i + 1);
    await host.vsctl(
      'add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=dummy', 'protocols=OpenFlow13', 'fail_mode=secure',
      'other_config:disable-in-band=true',
      ...ports.flatMap((p) => ['--', 'add-port', 'br-int', `p${p}`, '--', 'set', 'Interface', `p${p}`, 'type=dummy', `ofport_request=${p}`]),
    );
    // Every tun_metadata field mapped: 4 bytes each fills the 256-byte option space.
    const tlv = Array.from({ length: 64 }, (_, i) => `{class=0xffff,type=${i},len=4}->tun_metadata${i}`).join(',');
    await host.ofctl('add-tlv-map', host.mgmt(), tlv);
    await host.vsctl('set-controller', 'br-int', cap.target);
    await cap.waitFor('FEATURES_REPLY', (m) => m.type === 'features_reply');

    let xid = 0x10000;
    const sent = new Map<number, string>();
    const replay = (c: CapturedMessage): void => {
      const bytes = Buffer.from(c.raw);
      bytes.writeUInt32BE(++xid, 4);
      sent.set(xid, c.decoded ? origin(c.decoded) ?? c.decoded.type : 'undecoded message');
      cap.sendRaw(bytes);
    };
    const type = (c: CapturedMessage): number => c.raw.readUInt8(1);
    const command = (c: CapturedMessage): number => c.raw.readUInt16BE(8);
    const adds = (t: number): CapturedMessage[] => fromOfctl.filter((c) => type(c) === t && command(c) === 0);
    adds(OFPT.METER_MOD).forEach(replay);
    adds(OFPT.GROUP_MOD).forEach(replay);
    const flowMods = fromOfctl.filter((c) => type(c) === OFPT.FLOW_MOD);
    flowMods.forEach(replay);
    const barrier = ++xid;
    cap.send({ type: 'barrier_request', xid: barrier });
    await cap.waitFor('barrier after the corpus', (m) => m.type === 'barrier_reply' && m.xid === barrier, 60_000);
    const errors = cap.messages.filter((c) => c.decoded?.type === 'error' && sent.has(c.decoded.xid));
    // The error carries the start of the refused request: its type is at byte 12 + 1.
    const flowModsRefused = errors.filter((c) => c.raw.length > 13 && c.raw.readUInt8(13) === OFPT.FLOW_MOD).length;

    const asked = new Set<number>();
    for (const body of REQUESTS) {
      asked.add(++xid);
      cap.send({ type: 'multipart_request', xid, body });
    }
    const last = ++xid;
    cap.send({ type: 'barrier_request', xid: last });
    await cap.waitFor('the last reply', (m) => m.type === 'barrier_reply' && m.xid === last, 60_000);
    // Undecodable messages cannot be attributed: they count as replies, so they fail.
    const replies = cap.messages.filter((c) => (c.decoded ? asked.has(c.decoded.xid) : true));

    // FLOW_REMOVED for the flows installed with send_flow_rem, deleted strictly,
    // forty at a time so asynchronous messages never pile up (they may come after
    // a barrier). Not those matching tun_metadata: ovs-vswitchd 3.1.0 dies sending
    // FLOW_REMOVED for a flow that matches a TLV-mapped tun_metadata field.
    const announced = replies.flatMap((c) => (c.decoded?.type === 'multipart_reply' && c.decoded.body.kind === 'flow'
      ? c.decoded.body.entries.filter((e) => (e.flags & OFPFF_SEND_FLOW_REM) !== 0 && !e.match.some((f) => f.field.startsWith('tun_metadata')))
      : []));
    const before = cap.messages.length;
    const removedNow = (): CapturedMessage[] => cap.messages.slice(before).filter((c) => !c.decoded || c.decoded.type === 'flow_removed');
    for (let i = 0; i < announced.length; i += 40) {
      for (const e of announced.slice(i, i + 40)) {
        cap.send({ type: 'flow_mod', xid: ++xid, command: OFPFC.DELETE_STRICT, tableId: e.tableId, priority: e.priority, match: e.match });
      }
      const n = Math.min(i + 40, announced.length);
      await waitFor(`${n} FLOW_REMOVED`, () => removedNow().length >= n, 20_000);
    }
    const removed = removedNow();
    return { errors, replies, removed, sent, flowModsSent: flowMods.length, flowModsRefused };
  } finally {
    await cap.close();
    await host.stop();
  }
}
