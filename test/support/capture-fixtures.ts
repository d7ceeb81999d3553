/**
 * Regenerates test/fixtures/openflow/*.hex (+ .txt, ovs-ofctl's ofp-print of the
 * same bytes): OpenFlow 1.3 messages produced by Open vSwitch itself.
 *
 *   npx tsx test/support/capture-fixtures.ts
 *
 * 1. `ovs-ofctl -O OpenFlow13 <cmd> tcp:127.0.0.1:PORT` against an OfpCapture in
 *    switch role: what a controller-side OVS tool sends (flow mods, bundles,
 *    group/meter/port mods, packet-out, multipart requests).
 * 2. A sandboxed ovs-vswitchd (dummy datapath) whose br-int connects to an
 *    OfpCapture in controller role: what a real switch sends (HELLO, FEATURES,
 *    PORT_STATUS, PACKET_IN, NXT_PACKET_IN2, FLOW_REMOVED, multipart replies,
 *    errors, bundle replies).
 * Tests only read the committed fixtures; this script is not run by `npm test`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Decoded, OfpMessage } from '../../protocols/openflow/messages';
import { OvsHost } from '../../src/sandbox/ovs-host';
import { run } from '../../src/sandbox/processes';
import { OfpCapture } from './ofp-capture';
import { ofpPrint } from './ofp-print';

const DIR = join(__dirname, '..', 'fixtures', 'openflow');
const ARP = 'ffffffffffff000000000001080600010800060400010000000000010a0000010000000000000a000002';

function save(name: string, raw: Buffer): void {
  writeFileSync(join(DIR, `${name}.hex`), `${raw.toString('hex')}\n`);
  writeFileSync(join(DIR, `${name}.txt`), ofpPrint(raw));
  console.log(`saved ${name} (${raw.length} bytes)`);
}

type Pick = (m: Decoded) => boolean;
const isType = (type: OfpMessage['type']): Pick => (m) => m.type === type;
const isMultipart = (kind: string): Pick => (m) => m.type === 'multipart_request' && m.body.kind === kind;

/** Runs one ovs-ofctl command against the capture and saves the picked messages it sent. */
async function ofctl(cap: OfpCapture, args: string[], picks: [string, Pick][], input?: string): Promise<void> {
  const before = cap.messages.length;
  // Options, the command, then the target.
  const at = args.findIndex((a) => !a.startsWith('--')) + 1;
  await run('ovs-ofctl', ['-O', 'OpenFlow13', ...args.slice(0, at), cap.target, ...args.slice(at)], {
    timeoutMs: 15_000,
    ...(input === undefined ? {} : { input }),
  });
  const sent = cap.messages.slice(before);
  for (const [name, pick] of picks) {
    const hits = sent.filter((c) => c.decoded && pick(c.decoded));
    if (hits.length === 0) throw new Error(`ovs-ofctl ${args.join(' ')}: nothing matched for ${name}`);
    hits.forEach((c, i) => save(hits.length === 1 ? name : `${name}-${i + 1}`, c.raw));
  }
}

async function captureOfctl(): Promise<void> {
  const cap = await OfpCapture.listen('switch');
  try {
    await ofctl(cap, ['add-flow', 'table=1,priority=100,in_port=1,reg0=5,actions=load:1->reg1,resubmit(,2)'], [
      ['ofctl-add-flow', isType('flow_mod')],
      ['ofctl-table-features-request', isMultipart('table_features')],
    ]);
    await ofctl(
      cap,
      ['--bundle', 'add-flows', '-'],
      [
        ['ofctl-bundle-control', isType('bundle_control')],
        ['ofctl-bundle-add', isType('bundle_add')],
      ],
      'table=0,priority=10,arp,actions=NORMAL\ntable=0,priority=20,ip,nw_dst=10.0.0.1,actions=output:1\n',
    );
    await ofctl(cap, ['del-flows', 'cookie=0x5/-1'], [['ofctl-del-flows', isType('flow_mod')]]);
    await ofctl(cap, ['mod-port', 'p1', 'down'], [
      ['ofctl-mod-port', isType('port_mod')],
      ['ofctl-port-desc-request', isMultipart('port_desc')],
    ]);
    await ofctl(cap, ['add-group', 'group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2'], [
      ['ofctl-add-group', isType('group_mod')],
    ]);
    await ofctl(cap, ['add-meter', 'meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100'], [
      ['ofctl-add-meter', isType('meter_mod')],
    ]);
    await ofctl(cap, ['packet-out', `in_port=controller,packet=${ARP},actions=output:1`], [
      ['ofctl-packet-out', isType('packet_out')],
    ]);
    await ofctl(cap, ['dump-flows', 'table=1,reg0=5'], [['ofctl-flow-stats-request', isMultipart('flow')]]);
    await ofctl(cap, ['dump-aggregate'], [['ofctl-aggregate-request', isMultipart('aggregate')]]);
    await ofctl(cap, ['dump-tables'], [['ofctl-table-stats-request', isMultipart('table')]]);
    await ofctl(cap, ['dump-ports'], [['ofctl-port-stats-request', isMultipart('port_stats')]]);
    await ofctl(cap, ['dump-groups'], [['ofctl-group-desc-request', isMultipart('group_desc')]]);
    await ofctl(cap, ['dump-meters'], [['ofctl-meter-config-request', isMultipart('meter_config')]]);
  } finally {
    await cap.close();
  }
}

async function captureSwitch(): Promise<void> {
  const cap = await OfpCapture.listen('controller');
  const host = await OvsHost.start({ name: 'capture', dummy: true });
  try {
    await host.vsctl(
      'add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=dummy', 'protocols=OpenFlow13',
      'fail_mode=secure', 'other_config:disable-in-band=true', 'other_config:datapath-id=0000aabbccddeeff',
    );
    await host.vsctl('add-port', 'br-int', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy', 'ofport_request=1');
    await host.vsctl('set-controller', 'br-int', cap.target);

    const hello = await cap.waitFor('HELLO from ovs-vswitchd', isType('hello'));
    save('ovs-hello', hello.raw);
    save('ovs-features-reply', (await cap.waitFor('FEATURES_REPLY', isType('features_reply'))).raw);

    let xid = 100;
    const ask = async (name: string, msg: OfpMessage, reply: Pick = () => true): Promise<Decoded> => {
      const id = ++xid;
      cap.send({ ...msg, xid: id } as OfpMessage);
      const got = await cap.waitFor(name, (m) => m.xid === id && reply(m));
      save(name, got.raw);
      if (!got.decoded) throw new Error(`${name}: ${got.error?.message}`);
      return got.decoded;
    };
    await ask('ovs-port-desc-reply', { type: 'multipart_request', body: { kind: 'port_desc' } });
    await ask('ovs-desc-reply', { type: 'multipart_request', body: { kind: 'desc' } });
    await ask('ovs-get-config-reply', { type: 'get_config_request' });
    await ask('ovs-role-reply', { type: 'role_request', role: 2, generationId: 1n });
    await ask('ovs-get-async-reply', { type: 'get_async_request' });
    await ask('ovs-table-stats-reply', { type: 'multipart_request', body: { kind: 'table' } });

    // PORT_STATUS: a port appears.
    await host.vsctl('add-port', 'br-int', 'p2', '--', 'set', 'interface', 'p2', 'type=dummy', 'ofport_request=2');
    save('ovs-port-status', (await cap.waitFor('PORT_STATUS', isType('port_status'))).raw);

    // OFPT_PACKET_IN (standard format) from a controller action.
    await host.ofctl('add-flow', host.mgmt(), 'table=0,priority=10,in_port=2,actions=controller');
    await host.appctl('ovs-vswitchd', 'netdev-dummy/receive', 'p2', ARP);
    save('ovs-packet-in', (await cap.waitFor('PACKET_IN', isType('packet_in'))).raw);

    // NXT_PACKET_IN2 with userdata, after asking for that format.
    cap.send({ type: 'nx_set_packet_in_format', xid: ++xid, format: 2 });
    await host.ofctl('add-flow', host.mgmt(), 'table=0,priority=10,in_port=1,actions=load:0x2a->reg3,controller(userdata=01.02.03.04.05)');
    await ask('ovs-barrier-reply', { type: 'barrier_request' });
    await host.appctl('ovs-vswitchd', 'netdev-dummy/receive', 'p1', ARP);
    save('ovs-nx-packet-in2', (await cap.waitFor('NXT_PACKET_IN2', isType('nx_packet_in2'))).raw);

    await ask('ovs-flow-stats-reply', { type: 'multipart_request', body: { kind: 'flow' } });
    await ask('ovs-aggregate-reply', { type: 'multipart_request', body: { kind: 'aggregate' } });
    await ask('ovs-port-stats-reply', { type: 'multipart_request', body: { kind: 'port_stats', portNo: 1 } });

    await host.ofctl('add-group', host.mgmt(), 'group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2');
    await ask('ovs-group-desc-reply', { type: 'multipart_request', body: { kind: 'group_desc' } });
    await host.ofctl('add-meter', host.mgmt(), 'meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100');
    await ask('ovs-meter-config-reply', { type: 'multipart_request', body: { kind: 'meter_config' } });
    await ask('ovs-meter-features-reply', { type: 'multipart_request', body: { kind: 'meter_features' } });
    await ask('ovs-group-features-reply', { type: 'multipart_request', body: { kind: 'group_features' } });

    // OFPT_ERROR: a FLOW_MOD adding to table 255 (OFPTT_ALL).
    await ask('ovs-error-bad-table', { type: 'flow_mod', tableId: 255, match: [] }, isType('error'));
    // ONF bundle replies and the error for committing an unknown bundle.
    await ask('ovs-bundle-open-reply', { type: 'bundle_control', bundleId: 7, ctrlType: 0, flags: 1 });
    await ask('ovs-bundle-commit-reply', { type: 'bundle_control', bundleId: 7, ctrlType: 4, flags: 1 });
    await ask('ovs-error-bundle-bad-id', { type: 'bundle_control', bundleId: 8, ctrlType: 4, flags: 1 }, isType('error'));

    // FLOW_REMOVED: our flow with send_flow_rem, deleted by ovs-ofctl.
    cap.send({
      type: 'flow_mod', xid: ++xid, tableId: 3, priority: 7, cookie: 0x77n, flags: 1, idleTimeout: 60,
      match: [{ field: 'in_port', value: 2 }],
    });
    await ask('ovs-barrier-reply', { type: 'barrier_request' });
    await host.ofctl('del-flows', host.mgmt(), 'table=3');
    save('ovs-flow-removed', (await cap.waitFor('FLOW_REMOVED', isType('flow_removed'))).raw);
  } finally {
    await host.stop();
    await cap.close();
  }
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  await captureOfctl();
  await captureSwitch();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
