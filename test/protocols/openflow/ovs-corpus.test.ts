import assert from 'node:assert/strict';
import type { Decoded } from '../../../protocols/openflow/messages';
import {
  bundledFlows, captureFromOfctl, captureFromSwitch, checkMessage, EXTRA_GROUP_MODS, EXTRA_METER_MODS, originOf, type SwitchCapture,
} from '../../support/corpus-capture';
import type { CapturedMessage } from '../../support/ofp-capture';
import { buildOfctlCorpus, REFERENCED_GROUPS, REFERENCED_METERS } from './ovs-corpus';

/**
 * The codec against everything Open vSwitch sends (SPEC §9): `ovs-ofctl` sends a
 * generated corpus — every match field and action OVS knows for OpenFlow 1.3, then
 * seeded random combinations — to a listener playing the switch; a sandboxed
 * `ovs-vswitchd` gets those exact bytes and is asked about what it installed.
 * Every message must decode and re-encode to the bytes OVS sent
 * (test/support/corpus-capture.ts). PLEXUS_CORPUS_SEED picks another corpus.
 */
const SEED = Number(process.env.PLEXUS_CORPUS_SEED ?? 20240611);
const RANDOM_FLOWS = 3000;

function report(failures: readonly string[], total: number): string {
  const cut = (s: string): string => s.split('\n').map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l)).join('\n');
  return `${failures.length} of ${total} messages failed; the first ones:\n${failures.slice(0, 12).map(cut).join('\n')}`;
}

function entries<K extends string>(replies: readonly CapturedMessage[], kind: K): unknown[] {
  return replies.flatMap((c) => {
    const m = c.decoded;
    return m?.type === 'multipart_reply' && m.body.kind === kind && 'entries' in m.body ? [...m.body.entries] : [];
  });
}

describe('openflow codec on everything Open vSwitch sends @slow', function () {
  this.timeout(180_000);
  const corpus = buildOfctlCorpus(SEED, RANDOM_FLOWS);
  const origin = (m: Decoded): string | undefined => originOf(corpus, m);
  let fromOfctl: CapturedMessage[] = [];

  before(async () => {
    fromOfctl = await captureFromOfctl(corpus);
  });

  it(`ovs-ofctl: a corpus of ${corpus.flows.length} flows, ${corpus.groups.length} groups, ${corpus.meters.length} meters and ${corpus.packetOuts.length} packet-outs decodes and re-encodes to OVS's bytes`, () => {
    const failures = fromOfctl.map((c) => checkMessage(c, origin)).filter((f): f is string => f !== undefined);
    assert.equal(failures.length, 0, report(failures, fromOfctl.length));
    // Every line became one message: nothing was lost on the way.
    const count = (type: string): number => fromOfctl.filter((c) => c.decoded?.type === type).length;
    assert.equal(count('flow_mod'), corpus.flows.length);
    assert.equal(count('bundle_add'), bundledFlows(corpus).length);
    assert.equal(count('packet_out'), corpus.packetOuts.length);
    assert.equal(count('group_mod'), corpus.groups.length + EXTRA_GROUP_MODS);
    assert.equal(count('meter_mod'), corpus.meters.length + EXTRA_METER_MODS);
  });

  it('ovs-vswitchd: its replies about the installed corpus (flow stats, group and meter desc/stats, flow removed) decode and re-encode to its bytes', async () => {
    const sw: SwitchCapture = await captureFromSwitch(fromOfctl, origin);
    const checked = [...sw.errors, ...sw.replies, ...sw.removed];
    const failures = checked.map((c) => checkMessage(c, (m) => (m.type === 'error' ? sw.sent.get(m.xid) : undefined)))
      .filter((f): f is string => f !== undefined);
    assert.equal(failures.length, 0, report(failures, checked.length));
    // The switch took most of the corpus, so its replies cover it.
    const flows = entries(sw.replies, 'flow').length;
    const accepted = sw.flowModsSent - sw.flowModsRefused;
    assert.ok(accepted > 0.7 * sw.flowModsSent && flows >= 0.8 * accepted,
      `${sw.flowModsSent} flow mods, ${sw.flowModsRefused} refused, ${flows} flows reported`);
    const groups = entries(sw.replies, 'group_desc') as { groupId: number }[];
    const meters = entries(sw.replies, 'meter_config') as { meterId: number }[];
    assert.deepEqual(REFERENCED_GROUPS.filter((g) => !groups.some((d) => d.groupId === g)), [], 'groups the flows use');
    assert.deepEqual(REFERENCED_METERS.filter((m) => !meters.some((d) => d.meterId === m)), [], 'meters the flows use');
    assert.ok(entries(sw.replies, 'group_stats').length === groups.length && entries(sw.replies, 'meter_stats').length === meters.length);
    // The flows installed with send_flow_rem (about 5 %) were announced when deleted.
    assert.ok(sw.removed.length > 0.02 * flows, `${sw.removed.length} FLOW_REMOVED for ${flows} flows`);
  });
});
