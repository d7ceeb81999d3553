import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { JsonStream } from '../../../protocols/ovsdb/json-stream';
import type { Monitor } from '../../../protocols/ovsdb/monitor';
import { listen, type OvsdbListener } from '../../../protocols/ovsdb/listener';
import type { OvsdbSession } from '../../../protocols/ovsdb/session';
import { waitFor } from '../../../src/sandbox/processes';

const DB = 'Open_vSwitch';
const SCHEMA = JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')) as unknown;
const SPEC = {
  Bridge: { columns: ['name', 'ports'] },
  Port: { columns: ['name', 'interfaces'] },
  Interface: { columns: ['name', 'type', 'external_ids', 'ofport'] },
} as const;
const BRIDGE = '00000000-0000-4000-8000-000000000001';

/**
 * A host as ovsdb-server behaves toward a manager: answers get_schema, monitor_cond
 * (one empty br-int) and echo; can send us echo requests and raw bytes.
 */
function connectFakeHost(port: number): { sock: net.Socket; monitorId: () => unknown; echo: (id: string) => Promise<void> } {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  const stream = new JsonStream();
  let monitorId: unknown;
  const waiting = new Map<string, () => void>();
  sock.on('data', (d: Buffer) => {
    for (const m of stream.push(d) as { id: unknown; method?: string; params?: unknown[] }[]) {
      const reply = (result: unknown): boolean => sock.write(JSON.stringify({ id: m.id, result, error: null }));
      if (m.method === undefined) waiting.get(String(m.id))?.();
      else if (m.method === 'get_schema') reply(SCHEMA);
      else if (m.method === 'monitor_cond') {
        monitorId = m.params![1];
        reply({ Bridge: { [BRIDGE]: { initial: { name: 'br-int' } } } });
      } else if (m.method === 'echo') reply(m.params);
    }
  });
  return {
    sock,
    monitorId: () => monitorId,
    echo: (id) =>
      new Promise((resolve) => {
        waiting.set(id, resolve);
        sock.write(JSON.stringify({ id, method: 'echo', params: [] }));
      }),
  };
}

/** The update2 ovsdb-server sends when `ports` ports with one interface each are added to br-int in one transaction. */
function bigUpdate(monitorId: unknown, ports: number): Buffer {
  const uuid = (kind: number, i: number): string => `${String(i).padStart(8, '0')}-0000-4000-8000-00000000000${kind}`;
  const interfaces: Record<string, unknown> = {};
  const portRows: Record<string, unknown> = {};
  for (let i = 0; i < ports; i++) {
    interfaces[uuid(2, i)] = { insert: { name: `lp${i}`, type: 'internal', external_ids: ['map', [['attached-mac', '02:00:00:00:00:01'], ['iface-id', `endpoint-${i}`]]] } };
    portRows[uuid(3, i)] = { insert: { name: `lp${i}`, interfaces: ['uuid', uuid(2, i)] } };
  }
  const bridge = { [BRIDGE]: { modify: { ports: ['set', Array.from({ length: ports }, (_, i) => ['uuid', uuid(3, i)])] } } };
  return Buffer.from(JSON.stringify({ id: null, method: 'update2', params: [monitorId, { Interface: interfaces, Port: portRows, Bridge: bridge }] }));
}

describe('ovsdb: a large update does not stall the other hosts', function () {
  this.timeout(120_000);
  let listener: OvsdbListener | undefined;
  const sockets: net.Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await listener?.close();
  });

  it("keeps answering another host while one host's 100,000-row update goes in", async () => {
    listener = await listen('ptcp:0:127.0.0.1');
    const monitors: Monitor[] = [];
    listener.on('session', (s: OvsdbSession) => void s.monitor(DB, SPEC).then((m) => monitors.push(m)));
    const a = connectFakeHost(listener.port);
    await waitFor('first host monitored', () => monitors.length === 1);
    const b = connectFakeHost(listener.port);
    await waitFor('second host monitored', () => monitors.length === 2);
    sockets.push(a.sock, b.sock);
    const [monitorA] = monitors as [Monitor];
    const update = bigUpdate(a.monitorId(), 50_000);

    // The other host sends echo requests one after another and notes the longest wait for a reply.
    let longestWaitMs = 0;
    let answered = 0;
    let stop = false;
    const asking = (async () => {
      for (let i = 0; !stop; i++) {
        const t = performance.now();
        await b.echo(`b${i}`);
        longestWaitMs = Math.max(longestWaitMs, performance.now() - t);
        answered++;
      }
    })();
    const applied = new Promise<number>((resolve) => monitorA.replica.once('changes', (changes) => resolve(changes.length)));
    const startedMs = performance.now();
    a.sock.write(update);
    const changes = await applied;
    const tookMs = performance.now() - startedMs;
    stop = true;
    await asking;

    assert.equal(changes, 100_001);
    assert.equal(monitorA.replica.size('Interface'), 50_000);
    assert.equal(monitorA.replica.size('Port'), 50_000);
    assert.equal((monitorA.replica.get('Bridge', BRIDGE)!.ports as ['set', unknown[]])[1].length, 50_000);
    // Held in one piece, the update would keep the other host waiting for most of the time it takes.
    assert.ok(
      longestWaitMs < tookMs / 5,
      `the other host waited up to ${Math.round(longestWaitMs)} ms for an echo reply while the update took ${Math.round(tookMs)} ms (${answered} replies)`,
    );
  });
});
