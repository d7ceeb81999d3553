/**
 * plexusctl commands that explain and follow the network (SPEC §6):
 * `trace` (POST /v1/trace, optionally `--live` against the local switch's
 * ofproto/trace), `get endpoints --watch` (GET /v1/events), and the event-driven
 * wait behind `endpoint create --wait`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgumentError, type Command } from 'commander';
import type { TraceResult } from '../api/trace';
import { ClientError, EXIT, type ApiClient } from './client';
import type { CliContext } from './resource-commands';
import { render } from './output';

const run = promisify(execFile);
type Row = Record<string, unknown>;

/** `tcp/5432`, `udp/53`, `icmp`, `arp`, `dhcp`, `ip`. */
export function parseProtocol(text: string): { protocol: string; dstPort?: number } {
  const m = /^(tcp|udp|icmp|arp|dhcp|ip)(?:\/(\d{1,5}))?$/.exec(text.toLowerCase());
  if (!m || (m[2] !== undefined && (Number(m[2]) > 65535 || !['tcp', 'udp'].includes(m[1]!)))) {
    throw new InvalidArgumentError(`"${text}" is not tcp/PORT, udp/PORT, icmp, arp, dhcp or ip`);
  }
  return { protocol: m[1]!, ...(m[2] !== undefined ? { dstPort: Number(m[2]) } : {}) };
}

/** The trace as text: verdict and reason, then one line per hop. */
export function formatTrace(r: TraceResult): string {
  const lines = [`${r.verdict.toUpperCase()}: ${r.reason}`, ''];
  let host = '';
  for (const h of r.hops) {
    if (h.host !== host) {
      host = h.host;
      lines.push(`host ${host}`);
    }
    const flow = h.flow ? `  priority=${h.flow.priority} ${h.flow.match} actions=${h.flow.actions}` : '';
    lines.push(`  ${'  '.repeat(h.depth)}${String(h.tableId).padStart(2)} ${h.summary}${flow}`);
  }
  return lines.join('\n');
}

/** This machine's OVS system-id, when ovs-vsctl answers here. */
async function localSystemId(): Promise<string | undefined> {
  try {
    const { stdout } = await run('ovs-vsctl', ['get', 'Open_vSwitch', '.', 'external_ids:system-id'], { timeout: 5000 });
    return stdout.trim().replace(/^"|"$/g, '');
  } catch {
    return undefined;
  }
}

async function liveTraces(r: TraceResult): Promise<string[]> {
  const here = await localSystemId();
  if (!here) return ['live: ovs-vsctl does not answer on this machine: run plexusctl trace --live on the host itself'];
  const mine = r.segments.filter((s) => s.host === here);
  if (!mine.length) return [`live: this machine is host ${here}, which the packet does not cross (${r.segments.map((s) => s.host).join(', ')})`];
  const out: string[] = [];
  for (const s of mine) {
    const { stdout } = await run('ovs-appctl', ['ofproto/trace', 'br-int', s.flow], { timeout: 10_000, maxBuffer: 4 * 1024 * 1024 });
    // With conntrack (security groups) the trace recirculates: one "Datapath actions" line per pass.
    const passes = stdout.split('\n').filter((l) => l.startsWith('Datapath actions:')).map((l) => l.slice('Datapath actions:'.length).trim());
    const dp = passes.length ? `Datapath actions: ${passes.join(' | ')}` : '(no datapath actions)';
    out.push(`live on ${here}: ofproto/trace br-int ${s.flow}`, `  plexus: ${s.outputs.join(',') || 'drop'}`, `  switch: ${dp}`);
  }
  return out;
}

/** Waits for an endpoint to reach `status`, from GET /v1/events (one GET first, for a status already reached). */
export async function waitForStatus(client: ApiClient, id: string, status: string, timeoutMs: number): Promise<Row> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const stream = client.events('resources=endpoint-status', { signal: abort.signal });
    const first = stream.next(); // subscribes before the GET below
    const current = await client.call<Row>('GET', `v1/endpoints/${encodeURIComponent(id)}`);
    if (current['status'] === status) return current;
    for (let e = await first; !e.done; e = await stream.next()) {
      const d = e.value.data as { id?: string; value?: { status?: string } };
      if (e.value.event === 'reset' || (d.id === current['id'] && d.value?.status === status)) {
        const now = await client.call<Row>('GET', `v1/endpoints/${encodeURIComponent(id)}`);
        if (now['status'] === status) return now;
      }
    }
    const last = await client.call<Row>('GET', `v1/endpoints/${encodeURIComponent(id)}`);
    if (last['status'] === status) return last;
    throw new ClientError(
      `endpoint ${id} is not ${status} after ${timeoutMs / 1000} s (status ${String(last['status'])}, host ${String(last['host'] ?? '-')}): is its interface on br-int with external_ids:iface-id=${id}?`,
      EXIT.refused,
    );
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

export function addTraceCommands(program: Command, ctx: CliContext): void {
  program
    .command('trace')
    .requiredOption('--from <ENDPOINT>', 'source endpoint (id or name)')
    .option('--to <ENDPOINT>', 'destination endpoint (id or name)')
    .argument('[protocol]', 'tcp/PORT, udp/PORT, icmp, arp, dhcp or ip', parseProtocol)
    .option('--src-mac <MAC>', 'source MAC instead of the endpoint\'s (a spoofed packet)')
    .option('--src-ip <IP>', 'source IP instead of the endpoint\'s')
    .option('--dst-mac <MAC>', 'destination MAC (without --to, or instead of its MAC)')
    .option('--dst-ip <IP>', 'destination IP')
    .option('--live', 'also run the packet through ovs-appctl ofproto/trace on this machine, when it is one of the hosts crossed')
    .description('walk a packet through Plexus\' flows, table by table, and say why it arrives or not')
    .addHelpText('after', '\nExamples:\n  plexusctl trace --from web1 --to db1 tcp/5432\n  plexusctl trace --from web1 --to db1 arp\n  plexusctl trace --from web1 --to db1 --src-mac 02:00:00:00:99:99\n  plexusctl trace --from web1 dhcp')
    .action(async (proto: { protocol: string; dstPort?: number } | undefined, o: { from: string; to?: string; srcMac?: string; srcIp?: string; dstMac?: string; dstIp?: string; live?: boolean }) => {
      const body: Row = { from: o.from, ...(proto ?? {}) };
      for (const [k, v] of Object.entries({ to: o.to, srcMac: o.srcMac, srcIp: o.srcIp, dstMac: o.dstMac, dstIp: o.dstIp })) if (v !== undefined) body[k] = v;
      const r = await ctx.client().call<TraceResult>('POST', 'v1/trace', body);
      const live = o.live ? await liveTraces(r) : [];
      if (ctx.format() === 'table') ctx.out([formatTrace(r), ...(live.length ? ['', ...live] : [])].join('\n'));
      else ctx.out(render({ ...r, ...(o.live ? { live } : {}) } as Row, ctx.format(), []));
    });

  const get = program.command('get').description('list resources (kubectl style), optionally following changes');
  get
    .command('endpoints')
    .option('-w, --watch', 'after the list, print every endpoint change as it happens (GET /v1/events)')
    .description('list endpoints; with --watch, follow their changes')
    .action(async (o: { watch?: boolean }) => {
      const client = ctx.client();
      const columns = ['ID', 'NAME', 'STATUS', 'HOST', 'IPS'];
      const row = (e: Row): string[] => [String(e['id']), String(e['name'] || '-'), String(e['status'] ?? '-'), String(e['host'] ?? '-'), ((e['ips'] as string[] | undefined) ?? []).join(',') || '-'];
      const stream = o.watch ? client.events('resources=endpoint,endpoint-status') : undefined;
      const first = stream?.next(); // subscribed before listing: no change falls in between
      const items = await client.listAll<Row>('v1/endpoints');
      ctx.out(ctx.format() === 'table' ? [columns, ...items.map(row)].map((r) => r.join('\t')).join('\n') : render(items, ctx.format(), []));
      if (!stream || !first) return;
      const names = new Map(items.map((e) => [String(e['id']), String(e['name'] || '-')]));
      for (let e = await first; !e.done; e = await stream.next()) {
        const ev = e.value;
        if (ctx.format() !== 'table') {
          ctx.out(JSON.stringify({ id: ev.id, event: ev.event, ...(ev.data as Row) }));
          continue;
        }
        const d = ev.data as { id?: string; kind?: string; value?: Row };
        if (ev.event === 'reset') ctx.out(`RESET\t${String((ev.data as Row)['reason'])}`);
        else if (ev.event === 'endpoint') {
          if (d.value?.['name']) names.set(d.id!, String(d.value['name']));
          ctx.out([d.kind === 'delete' ? 'DELETED' : 'CHANGED', d.id, names.get(d.id!) ?? '-', '', '', ((d.value?.['ips'] as string[] | undefined) ?? []).join(',')].join('\t'));
        } else ctx.out(['STATUS', d.id, names.get(d.id!) ?? '-', d.kind === 'delete' ? 'unbound' : String(d.value?.['status']), String(d.value?.['host'] ?? '-')].join('\t'));
      }
    });
}
