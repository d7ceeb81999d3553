/**
 * The simulated switch (bench/sim/sim-switch.ts) against a real, sandboxed
 * ovs-vswitchd: the same requests go to both and must get the same answers and
 * leave the same flow tables. OVS is the oracle; the sim must not drift from it.
 */
import assert from 'node:assert/strict';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import { OFPCR_ROLE, OFPFC, OFPFF, OFPG, OFPP, OFPTT } from '../../protocols/openflow/constants';
import { describeError } from '../../protocols/openflow/errors';
import type { Decoded, FlowStats, MultipartReply, OfpMessage } from '../../protocols/openflow/messages';
import { SimSwitch } from '../../bench/sim/sim-switch';
import { compileHost } from '../../src/compiler/compile-host';
import type { HostContext, Snapshot } from '../../src/compiler/snapshot';
import { silentLogger } from '../../src/log';
import { HostFlows, type ApplyStats } from '../../src/reconciler/host-flows';
import { fingerprint, flowKey } from '../../src/reconciler/flow-key';
import { waitFor } from '../../src/sandbox/processes';
import { SwitchServer, type SwitchEvent } from '../../src/southbound/switch-server';
import { startSwitch, type SwitchFixture } from '../support/switch-fixture';
import { bind, ep, net, subnet } from '../support/model-fixtures';


/** h1 has a1 (ofport 1) and b1 (ofport 2); a2 lives on h2 behind plexus-vxlan (ofport 10). */
function model(withB1 = true): { snapshot: Snapshot; host: HostContext } {
  const a = [ep('a1', 'A', '02:00:00:00:0a:01', '10.1.0.11'), ep('a2', 'A', '02:00:00:00:0a:02', '10.1.0.12')];
  const b = withB1 ? [ep('b1', 'B', '02:00:00:00:0b:01', '10.2.0.11')] : [];
  const bindings = new Map([['a1', bind('a1', 'h1', 1)], ['a2', bind('a2', 'h2', 3)]]);
  if (withB1) bindings.set('b1', bind('b1', 'h1', 2));
  const snapshot: Snapshot = {
    networks: new Map([['A', net('A', 5001)], ['B', net('B', 5002)]]),
    subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]], ['B', [subnet('sb', 'B', '10.2.0.0/24', '10.2.0.1')]]]),
    endpointsByNetwork: new Map([['A', a], ['B', b]]),
    bindings,
  };
  return { snapshot, host: { id: 'h1', tunnelPort: 10, encapIps: new Map([['h1', '192.0.2.1'], ['h2', '192.0.2.2'], ['h3', '192.0.2.3']]) } };
}

/** Every flow of a switch as comparable text: key, cookie, flags, timeouts, instruction bytes. */
async function dumpFlows(conn: OpenFlowConnection): Promise<string[]> {
  const reply = (await conn.request({
    type: 'multipart_request',
    body: { kind: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] },
  })) as Decoded<MultipartReply>;
  assert.equal(reply.body.kind, 'flow');
  return (reply.body as unknown as { entries: FlowStats[] }).entries
    .map((f) => `${flowKey(f)} flags=${f.flags} idle=${f.idleTimeout} hard=${f.hardTimeout} ${fingerprint(f.cookie, f.instructions)}`)
    .sort();
}

/**
 * Sends `msgs` as they are (explicit xids), then a barrier, and returns what came
 * back before the barrier reply, each reply as "type" or "error CODE_NAME" with its xid.
 */
async function exchange(conn: OpenFlowConnection, msgs: readonly OfpMessage[]): Promise<string[]> {
  const got: string[] = [];
  const barrierXid = 0x7000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  const done = new Promise<void>((resolve) => {
    const onEvent = (e: ConnectionEvent): void => {
      if (e.kind !== 'message') return;
      const m = e.message;
      if (m.type === 'barrier_reply' && m.xid === barrierXid) {
        conn.off('event', onEvent);
        resolve();
        return;
      }
      if (m.type === 'error') got.push(`${m.xid} error ${describeError(m.errType, m.code, m.experimenter).codeName}`);
      else if (m.type === 'role_reply') got.push(`${m.xid} role_reply role=${m.role} gen=${m.generationId?.toString(16)}`);
      else if (m.type === 'bundle_control') got.push(`${m.xid} bundle_control ctrl=${m.ctrlType} id=${m.bundleId} flags=${m.flags}`);
      else if (m.type === 'multipart_reply') got.push(`${m.xid} multipart_reply ${m.body.kind}`);
      else got.push(`${m.xid} ${m.type}`);
    };
    conn.on('event', onEvent);
  });
  for (const m of msgs) conn.send(m);
  conn.send({ type: 'barrier_request', xid: barrierXid });
  await done;
  return got;
}

const fm = (xid: number, f: Omit<Extract<OfpMessage, { type: 'flow_mod' }>, 'type' | 'xid'>): OfpMessage => ({ type: 'flow_mod', xid, ...f });
const out = (port: number) => [{ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port }] }];

describe('simulated OpenFlow switch vs. a real ovs-vswitchd @slow', function () {
  this.timeout(120_000);
  let ovs: SwitchFixture;
  let server: SwitchServer;
  let sim: SimSwitch;
  let simConn: OpenFlowConnection;

  before(async () => {
    ovs = await startSwitch({ ports: { p1: 1, p2: 2 }, tunnels: { vxh2: { ofport: 10, remoteIp: '127.1.0.2' } } });
    server = new SwitchServer(silentLogger());
    const port = await server.listen('127.0.0.1', 0);
    const up = new Promise<OpenFlowConnection>((resolve) => {
      server.on('switch', (e: SwitchEvent) => {
        if (e.kind === 'up') resolve(e.conn);
      });
    });
    sim = new SimSwitch({ datapathId: 0x1234n, ports: [{ portNo: 1, name: 'p1' }, { portNo: 2, name: 'p2' }, { portNo: 10, name: 'vxh2' }] });
    await sim.connect(port);
    simConn = await up;
  });
  after(async () => {
    sim?.close();
    await server?.close();
    await ovs?.stop();
  });

  /** Runs the same exchange on both switches; returns [ovs, sim] answers with xids. */
  async function both(msgs: readonly OfpMessage[]): Promise<[string[], string[]]> {
    return [await exchange(ovs.conn(), msgs), await exchange(simConn, msgs)];
  }

  it('is programmed by the reconciler to exactly the flow set OVS ends with, and back', async () => {
    const flowsOvs = new HostFlows('h1', silentLogger());
    const flowsSim = new HostFlows('h1', silentLogger());
    let previous = new Set<string>();
    const program = async (withB1: boolean): Promise<void> => {
      const { snapshot, host } = model(withB1);
      const parts = compileHost(snapshot, host);
      // A partition the model no longer produces (an endpoint or a network gone) is cleared, as the overlay does.
      for (const name of previous) if (!parts.has(name)) parts.set(name, []);
      previous = new Set([...parts].filter(([, flows]) => flows.length).map(([name]) => name));
      for (const f of [flowsOvs, flowsSim]) for (const [name, flows] of parts) f.setPartition(name, flows);
    };
    await program(true);
    flowsOvs.attach(ovs.conn());
    flowsSim.attach(simConn);
    await Promise.all([flowsOvs.flushed(), flowsSim.flushed()]);
    const [a, b] = [await dumpFlows(ovs.conn()), await dumpFlows(simConn)];
    assert.ok(a.length > 10, `expected a real pipeline, got ${a.length} flows`);
    assert.deepEqual(b, a);

    // An endpoint leaves: strict deletes and modifies through a bundle on both.
    await program(false);
    await Promise.all([flowsOvs.flushed(), flowsSim.flushed()]);
    const [c, d] = [await dumpFlows(ovs.conn()), await dumpFlows(simConn)];
    assert.notDeepEqual(c, a);
    assert.deepEqual(d, c);

    // A second reconciler (a restarted controller) reads both back and changes nothing.
    for (const conn of [ovs.conn(), simConn]) {
      const again = new HostFlows('h1', silentLogger());
      const { snapshot, host } = model(false);
      for (const [name, flows] of compileHost(snapshot, host)) again.setPartition(name, flows);
      const stats = new Promise<ApplyStats>((resolve) => again.once('applied', resolve));
      again.attach(conn);
      const s = await stats;
      assert.deepEqual([s.adds, s.modifies, s.deletes], [0, 0, 0]);
    }
  });

  it('applies ADD/MODIFY/DELETE with cookie masks, loose and strict selection and out_port like OVS', async () => {
    const clear = [fm(1, { command: OFPFC.DELETE, tableId: OFPTT.ALL, match: [] })];
    const steps: OfpMessage[][] = [
      clear,
      [
        fm(10, { tableId: 40, priority: 100, cookie: 0x0101n, match: [{ field: 'in_port', value: 1 }], instructions: out(2) }),
        fm(11, { tableId: 40, priority: 100, cookie: 0x0102n, match: [{ field: 'in_port', value: 2 }], instructions: out(1) }),
        fm(12, { tableId: 40, priority: 90, cookie: 0x0201n, match: [{ field: 'in_port', value: 1 }, { field: 'eth_dst', value: '02:00:00:00:00:01' }], instructions: out(2) }),
        fm(13, { tableId: 41, priority: 5, cookie: 0x0301n, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_src', value: '10.0.0.0', mask: '255.0.0.0' }], instructions: out(1) }),
        fm(14, { tableId: 41, priority: 5, cookie: 0x0302n, match: [{ field: 'eth_dst', value: '02:00:00:00:00:00', mask: 'ff:ff:ff:ff:ff:ff' }], instructions: [] }),
        // Same key as 10: replaces it (new cookie, new instructions).
        fm(15, { tableId: 40, priority: 100, cookie: 0x0111n, match: [{ field: 'in_port', value: 1 }], instructions: out(OFPP.CONTROLLER) }),
      ],
      // Loose modify selected by cookie 0x01xx: instructions change, cookies stay.
      [fm(20, { command: OFPFC.MODIFY, tableId: 40, cookie: 0x0100n, cookieMask: 0xff00n, match: [], instructions: out(10) })],
      // Strict modify of a flow that does not exist adds nothing (OpenFlow 1.2+).
      [fm(21, { command: OFPFC.MODIFY_STRICT, tableId: 40, priority: 7, match: [{ field: 'in_port', value: 9 }], instructions: out(1) })],
      // Loose delete on a more specific match misses the less specific flows.
      [fm(30, { command: OFPFC.DELETE, tableId: OFPTT.ALL, match: [{ field: 'in_port', value: 1 }, { field: 'eth_dst', value: '02:00:00:00:00:01' }] })],
      // Delete by out_port across all tables; then strict delete with a cookie that does not select.
      [fm(31, { command: OFPFC.DELETE, tableId: OFPTT.ALL, outPort: 1, match: [] })],
      [fm(32, { command: OFPFC.DELETE_STRICT, tableId: 41, priority: 5, cookie: 0x9999n, cookieMask: 0xffffn, match: [{ field: 'eth_dst', value: '02:00:00:00:00:00' }] })],
      // Masked subnet: loose delete by a wider mask selects it.
      [
        fm(33, { tableId: 42, priority: 5, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_dst', value: '10.1.2.0', mask: '255.255.255.0' }] }),
        fm(34, { command: OFPFC.DELETE, tableId: 42, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_dst', value: '10.1.0.0', mask: '255.255.0.0' }] }),
      ],
      // Errors: overlap, bad table, missing table, prerequisite, duplicate field, goto backwards, buffer, command.
      [
        fm(40, { tableId: 43, priority: 10, match: [{ field: 'in_port', value: 1 }] }),
        fm(41, { tableId: 43, priority: 10, flags: OFPFF.CHECK_OVERLAP, match: [{ field: 'eth_type', value: 0x0806 }] }),
        fm(42, { tableId: 43, priority: 10, flags: OFPFF.CHECK_OVERLAP, match: [{ field: 'in_port', value: 1 }] }),
        fm(43, { tableId: 43, priority: 10, flags: OFPFF.CHECK_OVERLAP, match: [{ field: 'in_port', value: 2 }] }),
        fm(44, { tableId: OFPTT.ALL, match: [] }),
        fm(45, { tableId: 254, match: [] }),
        fm(46, { match: [{ field: 'ip_src', value: '10.0.0.1' }] }),
        fm(47, { match: [{ field: 'eth_type', value: 0x0800 }, { field: 'udp_dst', value: 67 }] }),
        fm(48, { match: [{ field: 'in_port', value: 1 }, { field: 'in_port', value: 2 }] }),
        fm(49, { tableId: 3, match: [], instructions: [{ type: 'goto_table', tableId: 2 }] }),
        fm(50, { match: [], bufferId: 7 }),
        fm(51, { command: 9, match: [] }),
        fm(52, { command: OFPFC.MODIFY, tableId: OFPTT.ALL, match: [] }),
      ],
    ];
    for (const [i, step] of steps.entries()) {
      const [a, b] = await both(step);
      assert.deepEqual(b, a, `answers to step ${i}`);
      assert.deepEqual(await dumpFlows(simConn), await dumpFlows(ovs.conn()), `flows after step ${i}`);
    }
  });

  it('answers bundles as OVS does: atomic commit, per-message errors, bundle-level errors discard', async () => {
    const add = (xid: number, bundleId: number, message: OfpMessage, flags = 3): OfpMessage => ({ type: 'bundle_add', xid, bundleId, flags, message: { ...message, xid } });
    const ctl = (xid: number, bundleId: number, ctrlType: number, flags = 3): OfpMessage => ({ type: 'bundle_control', xid, bundleId, ctrlType, flags });
    const steps: OfpMessage[][] = [
      [fm(1, { command: OFPFC.DELETE, tableId: OFPTT.ALL, match: [] }), fm(2, { tableId: 9, priority: 5, match: [{ field: 'in_port', value: 1 }] })],
      // Commit-time failure (overlap): nothing applied, MSG_FAILED, bundle gone.
      [ctl(100, 1, 0), add(101, 1, fm(0, { tableId: 14, priority: 1, match: [] })),
        add(102, 1, fm(0, { tableId: 9, priority: 5, flags: OFPFF.CHECK_OVERLAP, match: [{ field: 'eth_type', value: 0x806 }] })),
        ctl(103, 1, 4), ctl(104, 1, 4)],
      // Add-time failure: only that message is refused; the rest commits.
      [ctl(110, 2, 0), add(111, 2, fm(0, { tableId: 10, priority: 1, match: [] })), add(112, 2, fm(0, { tableId: 254, match: [] })),
        add(113, 2, fm(0, { tableId: 255, match: [] })), add(114, 2, { type: 'barrier_request' }), ctl(115, 2, 4)],
      // Implicit open by add; commit of a closed bundle; close twice; flags mismatch; unknown id; bad type.
      [add(121, 3, fm(0, { tableId: 11, priority: 1, match: [] })), ctl(123, 3, 4)],
      [ctl(130, 4, 0), ctl(131, 4, 2), ctl(132, 4, 2), ctl(133, 4, 4)],
      [ctl(140, 5, 0), add(141, 5, fm(0, { tableId: 12, priority: 1, match: [] })), ctl(142, 5, 2), ctl(143, 5, 4)],
      [ctl(150, 6, 0), add(151, 6, fm(0, { tableId: 13, priority: 1, match: [] }), 1), ctl(152, 6, 4)],
      [ctl(160, 7, 0, 0), ctl(161, 7, 4, 3), ctl(162, 7, 0), ctl(163, 7, 0), ctl(164, 7, 6)],
      [ctl(170, 8, 0), ctl(171, 8, 6), ctl(172, 8, 6), ctl(173, 9, 1)],
      [ctl(180, 10, 0), add(181, 10, { type: 'packet_out', actions: [{ type: 'output', port: 1 }], data: Buffer.alloc(60) }), ctl(182, 10, 4)],
    ];
    for (const [i, step] of steps.entries()) {
      const [a, b] = await both(step);
      assert.deepEqual(b, a, `answers to step ${i}`);
      assert.deepEqual(await dumpFlows(simConn), await dumpFlows(ovs.conn()), `flows after step ${i}`);
    }
  });

  it('refuses stale generation ids, bad roles and a slave\'s changes exactly as OVS does', async () => {
    const role = (xid: number, r: number, gen?: bigint): OfpMessage => ({ type: 'role_request', xid, role: r, ...(gen === undefined ? {} : { generationId: gen }) });
    const seq: OfpMessage[] = [
      role(1, OFPCR_ROLE.NOCHANGE),
      role(2, OFPCR_ROLE.EQUAL, 7n),
      role(3, OFPCR_ROLE.MASTER, 5n),
      role(4, OFPCR_ROLE.MASTER, 5n),
      role(5, OFPCR_ROLE.MASTER, 4n),
      role(6, OFPCR_ROLE.SLAVE, 4n),
      role(7, OFPCR_ROLE.EQUAL, 1n),
      role(8, OFPCR_ROLE.MASTER, 0xffffffffffffff00n),
      role(9, OFPCR_ROLE.MASTER, 6n),
      role(10, 7, 6n),
      role(11, OFPCR_ROLE.SLAVE, 9n),
      fm(12, { tableId: 20, match: [] }),
      { type: 'packet_out', xid: 13, actions: [], data: Buffer.alloc(60) },
      { type: 'bundle_control', xid: 14, bundleId: 1, ctrlType: 0, flags: 3 },
      { type: 'multipart_request', xid: 15, body: { kind: 'desc' } },
      role(16, OFPCR_ROLE.MASTER, 9n),
      role(17, OFPCR_ROLE.NOCHANGE),
    ];
    // A fresh connection each, so both start from the switch's initial state on that connection;
    // the election id is switch-wide and survives from earlier tests on neither (no MASTER/SLAVE yet).
    const [a, b] = await both(seq);
    assert.ok(a.some((l) => l === '5 error OFPRRFC_STALE'), a.join('\n'));
    assert.deepEqual(b, a);
    const stale = b.filter((l) => l.endsWith('OFPRRFC_STALE')).map((l) => Number(l.split(' ')[0]));
    assert.deepEqual(stale, [5, 6, 8]);
    assert.ok(b.includes('12 error OFPBRC_IS_SLAVE'));
  });

  it('answers config, async, features, multipart and unsupported requests like OVS', async () => {
    const seq: OfpMessage[] = [
      { type: 'get_config_request', xid: 1 },
      { type: 'set_config', xid: 2, flags: 0, missSendLen: 256 },
      { type: 'get_config_request', xid: 3 },
      { type: 'get_async_request', xid: 4 },
      { type: 'set_async', xid: 5, packetInMask: [1, 0], portStatusMask: [7, 0], flowRemovedMask: [0, 0] },
      { type: 'get_async_request', xid: 6 },
      { type: 'nx_set_packet_in_format', xid: 7, format: 5 },
      { type: 'nx_set_packet_in_format', xid: 8, format: 0 },
      { type: 'features_request', xid: 9 },
      { type: 'multipart_request', xid: 10, body: { kind: 'unknown', mpType: 77, data: Buffer.alloc(0) } },
      { type: 'multipart_request', xid: 11, body: { kind: 'table' } },
      { type: 'multipart_request', xid: 12, body: { kind: 'group_desc' } },
      { type: 'multipart_request', xid: 13, body: { kind: 'aggregate', tableId: OFPTT.ALL, match: [] } },
      { type: 'multipart_request', xid: 14, body: { kind: 'flow', tableId: 254, match: [] } },
      { type: 'unknown', xid: 15, msgType: 60, body: Buffer.alloc(0) },
      { type: 'experimenter', xid: 16, experimenter: 0x1234, expType: 1 },
      { type: 'packet_out', xid: 17, bufferId: 5, actions: [], data: Buffer.alloc(0) },
    ];
    const values = async (conn: OpenFlowConnection): Promise<string[]> => {
      const got: string[] = [];
      const onEvent = (e: ConnectionEvent): void => {
        if (e.kind !== 'message') return;
        const m = e.message as Decoded & Record<string, unknown>;
        if (m.type === 'get_config_reply') got.push(`${m.xid} config ${m.flags} ${m.missSendLen}`);
        if (m.type === 'get_async_reply') got.push(`${m.xid} async ${JSON.stringify([m.packetInMask, m.portStatusMask, m.flowRemovedMask])}`);
        if (m.type === 'features_reply') got.push(`${m.xid} features buffers=${m.nBuffers} tables=${m.nTables} caps=${m.capabilities}`);
        if (m.type === 'multipart_reply' && (m.body as { kind: string }).kind === 'table') got.push(`${m.xid} tables ${(m.body as unknown as { entries: unknown[] }).entries.length}`);
      };
      conn.on('event', onEvent);
      const answers = await exchange(conn, seq);
      conn.off('event', onEvent);
      return [...answers, ...got];
    };
    assert.deepEqual(await values(simConn), await values(ovs.conn()));
  });

  it('holds a thousand switches connected to one controller in one process', async function () {
    const many = new SwitchServer(silentLogger());
    const port = await many.listen('127.0.0.1', 0);
    const sims = Array.from({ length: 1000 }, (_, i) => new SimSwitch({ datapathId: 0x10000n + BigInt(i), ports: [{ portNo: 1, name: 'p1' }] }));
    try {
      const t0 = Date.now();
      await Promise.all(sims.map((s) => s.connect(port)));
      await waitFor('1000 switches up', () => many.connectedDpids.length === 1000, 60_000, 50);
      const conns = many.connectedDpids.map((d) => many.connection(d)!);
      await Promise.all(conns.map((c) => c.sendBatch([{ type: 'flow_mod', tableId: 0, priority: 1, match: [], instructions: out(1) }])));
      assert.ok(sims.every((s) => s.flows.size === 1));
      assert.ok(Date.now() - t0 < 60_000);
    } finally {
      for (const s of sims) s.close();
      await many.close();
    }
  });
});
