/**
 * A sandboxed OVS (dummy datapath) whose br-int is connected to a SwitchServer
 * in this process: real switch, real OpenFlow, no plexusd. For compiler and
 * reconciler tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { silentLogger } from '../../src/log';
import { OvsHost } from '../../src/sandbox/ovs-host';
import { trackPid, untrackPid, waitFor } from '../../src/sandbox/processes';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import { SwitchServer, type SwitchEvent } from '../../src/southbound/switch-server';

export interface SwitchFixture {
  readonly host: OvsHost;
  readonly server: SwitchServer;
  /** The current connection of br-int (replaced when the switch reconnects). */
  conn(): OpenFlowConnection;
  stop(): Promise<void>;
}

/** Ports are created with fixed OpenFlow numbers: `{ name: ofport }`; `tunnels` are VXLAN ports. */
export async function startSwitch(options: {
  ports: Record<string, number>;
  tunnels?: Record<string, { ofport: number; remoteIp: string }>;
}): Promise<SwitchFixture> {
  const server = new SwitchServer(silentLogger());
  const port = await server.listen('127.0.0.1', 0);
  let current: OpenFlowConnection | undefined;
  server.on('switch', (e: SwitchEvent) => {
    if (e.kind === 'up') current = e.conn;
  });
  const host = await OvsHost.start({ name: 'sw', dummy: true });
  try {
    const args = ['add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=dummy', 'protocols=OpenFlow13', 'fail_mode=secure', 'other_config:disable-in-band=true'];
    for (const [name, ofport] of Object.entries(options.ports)) {
      args.push('--', 'add-port', 'br-int', name, '--', 'set', 'Interface', name, 'type=dummy', `ofport_request=${ofport}`);
    }
    for (const [name, t] of Object.entries(options.tunnels ?? {})) {
      args.push('--', 'add-port', 'br-int', name, '--', 'set', 'Interface', name, 'type=vxlan', `ofport_request=${t.ofport}`, `options:remote_ip=${t.remoteIp}`, 'options:key=flow', 'options:local_ip=127.1.0.1');
    }
    await host.vsctl(...args);
    await host.vsctl('set-controller', 'br-int', `tcp:127.0.0.1:${port}`, '--', 'set', 'Controller', 'br-int', 'max_backoff=1000');
    await waitFor('br-int to connect', () => current?.currentState === 'ready');
  } catch (err) {
    await host.stop();
    await server.close();
    throw err;
  }
  return {
    host,
    server,
    conn: () => current!,
    stop: async () => {
      await host.stop();
      await server.close();
    },
  };
}

/**
 * Runs `ovs-ofctl monitor br-int watch:!initial` and collects every flow change
 * the switch reports (additions, deletions, modifications) until stopped.
 */
export async function watchFlowChanges(host: OvsHost): Promise<{ stop(): Promise<string[]> }> {
  const child: ChildProcess = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', host.mgmt(), 'watch:!initial'], {
    env: host.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackPid(child.pid!);
  // ovs-ofctl prints the reply to its request on stdout and the asynchronous
  // flow updates on stderr: read both.
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('flow monitor to be registered', () => out.includes('FLOW_MONITOR reply'), 5000);
  return {
    stop: async () => {
      // Let in-flight updates arrive: the switch sends them right after each change.
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      untrackPid(child.pid!);
      return out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /event=(ADDED|DELETED|MODIFIED)/.test(l));
    },
  };
}

/**
 * `ofproto/trace` of a packet, returning the datapath actions with datapath
 * port numbers replaced by port names (they differ from OpenFlow numbers), e.g.
 * "set(eth(...)),p1" or "drop".
 */
export async function traceActions(host: OvsHost, flow: string, bridge = 'br-int'): Promise<string> {
  const names = new Map<string, string>();
  const { stdout: dpif } = await host.appctl('ovs-vswitchd', 'dpif/show');
  for (const m of dpif.matchAll(/^\s+(\S+) \d+\/(\d+):/gm)) names.set(m[2]!, m[1]!);
  const { stdout } = await host.appctl('ovs-vswitchd', 'ofproto/trace', bridge, flow);
  const line = stdout.split('\n').find((l) => l.startsWith('Datapath actions:'));
  if (!line) throw new Error(`no datapath actions in trace:\n${stdout}`);
  return splitTopLevel(line.slice('Datapath actions: '.length).trim()).map((p) => (/^\d+$/.test(p) ? (names.get(p) ?? p) : p)).join(',');
}

/** Splits datapath actions (or any OVS action list) at the commas outside parentheses. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  return [...parts, cur];
}
