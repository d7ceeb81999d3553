/**
 * `plexusctl sg` (security groups and their rules) and `plexusctl qos` (QoS
 * policies), mirroring /v1/security-groups and /v1/qos-policies (SPEC §11).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { render, type Column } from './output';
import { addDeleteCommand, addListCommand, addShowCommand, type CliContext } from './resource-commands';

type Row = Record<string, unknown>;
const enc = encodeURIComponent;

interface RuleRow {
  id: string;
  direction: string;
  ethertype: string;
  protocol?: string | number;
  portMin?: number;
  portMax?: number;
  icmpType?: number;
  icmpCode?: number;
  remoteCidr?: string;
  remoteGroup?: string;
}

/** One rule as one line: "ingress IPv4 tcp 80-80 from group <id>". */
export function describeRule(r: RuleRow): string {
  const ports = r.portMin !== undefined ? ` ${r.portMin}-${r.portMax ?? r.portMin}` : '';
  const icmp = r.icmpType !== undefined ? ` type ${r.icmpType}${r.icmpCode !== undefined ? ` code ${r.icmpCode}` : ''}` : '';
  const peer = r.remoteGroup ? ` group ${r.remoteGroup}` : r.remoteCidr ? ` ${r.remoteCidr}` : ' any';
  return `${r.id}: ${r.direction} ${r.ethertype} ${r.protocol ?? 'any'}${ports}${icmp} ${r.direction === 'ingress' ? 'from' : 'to'}${peer}`;
}

const groupColumns: Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'NAME', get: (r) => r['name'] },
  { header: 'TENANT', get: (r) => r['tenant'] },
  { header: 'RULES', get: (r) => ((r['rules'] as RuleRow[] | undefined) ?? []).map(describeRule) },
];
const ruleColumns: Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'RULE', get: (r) => describeRule(r as unknown as RuleRow) },
];
const rate = (v: unknown): string => {
  const l = v as { rateKbps: number; burstKb: number } | undefined;
  return l ? `${l.rateKbps} kbit/s burst ${l.burstKb} kbit` : '-';
};
const qosColumns: Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'NAME', get: (r) => r['name'] },
  { header: 'TENANT', get: (r) => r['tenant'] },
  { header: 'EGRESS', get: (r) => rate(r['egress']) },
  { header: 'INGRESS', get: (r) => rate(r['ingress']) },
  { header: 'DSCP', get: (r) => r['dscp'] ?? '-' },
];

function parseInteger(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${text} is not a non-negative integer`);
  return Number(text);
}

/** "80" or "8000-8080" → [min, max]. */
function parsePorts(text: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`${text}: expected PORT or MIN-MAX`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

interface RuleOptions {
  direction: string;
  ethertype?: string;
  protocol?: string;
  ports?: [number, number];
  icmpType?: number;
  icmpCode?: number;
  remoteCidr?: string;
  remoteGroup?: string;
}

function ruleBody(o: RuleOptions): Row {
  const protocol = o.protocol === undefined ? undefined : /^\d+$/.test(o.protocol) ? Number(o.protocol) : o.protocol;
  return {
    direction: o.direction,
    ...(o.ethertype ? { ethertype: o.ethertype } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    ...(o.ports ? { portMin: o.ports[0], portMax: o.ports[1] } : {}),
    ...(o.icmpType !== undefined ? { icmpType: o.icmpType } : {}),
    ...(o.icmpCode !== undefined ? { icmpCode: o.icmpCode } : {}),
    ...(o.remoteCidr ? { remoteCidr: o.remoteCidr } : {}),
    ...(o.remoteGroup ? { remoteGroup: o.remoteGroup } : {}),
  };
}

/** "10000" or "10000,1000" (rate kbit/s, burst kbit) → a rate limit. */
function parseRate(text: string): { rateKbps: number; burstKb?: number } {
  const m = /^(\d+)(?:,(\d+))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`${text}: expected RATE_KBPS or RATE_KBPS,BURST_KB`);
  return { rateKbps: Number(m[1]), ...(m[2] ? { burstKb: Number(m[2]) } : {}) };
}

export function addPolicyCommands(program: Command, ctx: CliContext): void {
  // In tables (and one object's key: value view), rules read as one line each and limits as "RATE kbit/s burst B kbit".
  const readable = (r: Row): Row => ({
    ...r,
    ...(Array.isArray(r['rules']) ? { rules: (r['rules'] as RuleRow[]).map(describeRule) } : {}),
    ...(r['egress'] ? { egress: rate(r['egress']) } : {}),
    ...(r['ingress'] ? { ingress: rate(r['ingress']) } : {}),
  });
  const show = (columns: Column<Row>[]) => (body: unknown) => {
    const rows = ctx.format() === 'table' ? (Array.isArray(body) ? (body as Row[]).map(readable) : readable(body as Row)) : (body as Row | Row[]);
    ctx.out(render(rows, ctx.format(), columns.map((c) => ({ header: c.header, get: (r: Row) => (c.header === 'RULES' || c.header === 'EGRESS' || c.header === 'INGRESS' ? r[c.header.toLowerCase()] ?? '-' : c.get(r)) }))));
  };

  const groups = { path: 'v1/security-groups', noun: 'security group', ref: ['<group>', 'group id or name'], show: show(groupColumns) } as const;
  const policies = { path: 'v1/qos-policies', noun: 'qos policy', ref: ['<policy>', 'policy id or name'], show: show(qosColumns) } as const;

  const sg = program.command('sg').description('security groups (stateful rules, SPEC §3)');
  sg.command('create')
    .argument('<name>', 'group name (unique in its tenant)')
    .option('--tenant <TENANT>', "tenant (default: the token's, else default)")
    .option('--description <TEXT>', 'free text')
    .description('create a security group (no rules: ingress denied, egress allowed)')
    .addHelpText('after', '\nExamples:\n  plexusctl sg create web\n  plexusctl sg rule add web --direction ingress --protocol tcp --ports 80 --remote-group app')
    .action(async (name: string, o: { tenant?: string; description?: string }) =>
      groups.show(await ctx.client().call('POST', 'v1/security-groups', { name, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.description ? { description: o.description } : {}) })),
    );
  addListCommand(sg, ctx, groups, 'list security groups');
  addShowCommand(sg, ctx, groups, 'show one security group and its rules');
  addDeleteCommand(sg, ctx, groups, 'delete a security group no endpoint uses');
  const rule = sg.command('rule').description("a security group's rules");
  rule
    .command('add')
    .argument('<group>', 'group id or name')
    .requiredOption('--direction <DIR>', 'ingress or egress')
    .option('--ethertype <TYPE>', 'IPv4 (default) or IPv6')
    .option('--protocol <PROTO>', 'tcp, udp, icmp, icmpv6 or a number (default: any)')
    .option('--ports <PORTS>', 'destination port or MIN-MAX (tcp/udp)', parsePorts)
    .option('--icmp-type <N>', 'icmp/icmpv6 type', parseInteger)
    .option('--icmp-code <N>', 'icmp/icmpv6 code (with --icmp-type)', parseInteger)
    .option('--remote-cidr <CIDR>', 'peer addresses')
    .option('--remote-group <GROUP>', 'peer group id or name (its members\' addresses)')
    .description('add a rule to a security group')
    .action(async (ref: string, o: RuleOptions) => show(ruleColumns)(await ctx.client().call('POST', `v1/security-groups/${enc(ref)}/rules`, ruleBody(o))));
  rule
    .command('delete')
    .argument('<group>', 'group id or name')
    .argument('<rule>', 'rule id')
    .description('remove a rule (connections it admitted are cut)')
    .action(async (ref: string, id: string) => {
      await ctx.client().call('DELETE', `v1/security-groups/${enc(ref)}/rules/${enc(id)}`);
      ctx.out(`rule ${id} deleted`);
    });

  const qos = program.command('qos').description('QoS policies: egress/ingress rate limits, DSCP marking');
  qos
    .command('create')
    .argument('<name>', 'policy name (unique in its tenant)')
    .option('--tenant <TENANT>', "tenant (default: the token's, else default)")
    .option('--egress <RATE[,BURST]>', 'limit on what the endpoint sends, kbit/s (burst kbit)', parseRate)
    .option('--ingress <RATE[,BURST]>', 'limit on what the endpoint receives, kbit/s (burst kbit)', parseRate)
    .option('--dscp <N>', 'DSCP (0..63) written into what the endpoint sends', parseInteger)
    .description('create a QoS policy (attach it with endpoint/network update --qos-policy)')
    .addHelpText('after', '\nExamples:\n  plexusctl qos create gold --egress 10000,1000 --dscp 46')
    .action(async (name: string, o: { tenant?: string; egress?: Row; ingress?: Row; dscp?: number }) =>
      policies.show(
        await ctx.client().call('POST', 'v1/qos-policies', {
          name,
          ...(o.tenant ? { tenant: o.tenant } : {}),
          ...(o.egress ? { egress: o.egress } : {}),
          ...(o.ingress ? { ingress: o.ingress } : {}),
          ...(o.dscp !== undefined ? { dscp: o.dscp } : {}),
        }),
      ),
    );
  addListCommand(qos, ctx, policies, 'list QoS policies');
  addShowCommand(qos, ctx, policies, 'show one QoS policy');
  addDeleteCommand(qos, ctx, policies, 'delete a QoS policy no endpoint or network uses');
}
