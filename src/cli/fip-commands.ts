/**
 * `plexusctl fip` (SPEC §11): floating IPs, mirroring /v1/floating-ips:
 * create (optionally for an endpoint), list, show, assign, release, delete.
 */
import type { Command } from 'commander';
import { render, type Column } from './output';
import { addDeleteCommand, addListCommand, addShowCommand, ifMatchHeader, type CliContext } from './resource-commands';

type Row = Record<string, unknown>;
const enc = encodeURIComponent;

const fipColumns: Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'ADDRESS', get: (r) => r['address'] },
  { header: 'NETWORK', get: (r) => r['network'] },
  { header: 'ENDPOINT', get: (r) => r['endpoint'] ?? '-' },
  { header: 'FIXED IP', get: (r) => r['fixedIp'] ?? '-' },
];

export function addFipCommands(program: Command, ctx: CliContext): void {
  const show = (body: unknown): void => ctx.out(render(body as Row | Row[], ctx.format(), fipColumns));
  const fips = { path: 'v1/floating-ips', noun: 'floating IP', ref: ['<id>', 'floating IP id'], show } as const;
  const fip = program.command('fip').description('floating IPs: external addresses mapped 1:1 to endpoints');
  fip
    .command('create')
    .requiredOption('--network <NETWORK>', 'external network id or name')
    .option('--address <IP>', 'the address (default: the first free one)')
    .option('--endpoint <ENDPOINT>', 'assign it to this endpoint at once')
    .option('--fixed-ip <IP>', "which of the endpoint's IPv4 addresses (default: its first)")
    .option('--tenant <TENANT>', "tenant (default: the token's, else default)")
    .description('take an address of an external network')
    .addHelpText('after', '\nExamples:\n  plexusctl fip create --network public --endpoint web1\n  plexusctl fip release <id>')
    .action(async (o: { network: string; address?: string; endpoint?: string; fixedIp?: string; tenant?: string }) =>
      show(
        await ctx.client().call('POST', 'v1/floating-ips', {
          network: o.network,
          ...(o.address ? { address: o.address } : {}),
          ...(o.endpoint ? { endpoint: o.endpoint } : {}),
          ...(o.fixedIp ? { fixedIp: o.fixedIp } : {}),
          ...(o.tenant ? { tenant: o.tenant } : {}),
        }),
      ),
    );
  addListCommand(fip, ctx, fips, 'list floating IPs');
  addShowCommand(fip, ctx, fips, 'show one floating IP');
  fip
    .command('assign')
    .argument('<id>', 'floating IP id')
    .requiredOption('--endpoint <ENDPOINT>', 'endpoint id or name')
    .option('--fixed-ip <IP>', "which of the endpoint's IPv4 addresses")
    .option('--if-match <REVISION>', 'only if the floating IP is still at this revision')
    .description('assign (or move) a floating IP to an endpoint')
    .action(async (id: string, o: { endpoint: string; fixedIp?: string; ifMatch?: string }) =>
      show(await ctx.client().call('PATCH', `v1/floating-ips/${enc(id)}`, { endpoint: o.endpoint, ...(o.fixedIp ? { fixedIp: o.fixedIp } : {}) }, ifMatchHeader(o.ifMatch))),
    );
  fip
    .command('release')
    .argument('<id>', 'floating IP id')
    .description('unassign a floating IP (it keeps its address)')
    .action(async (id: string) => show(await ctx.client().call('PATCH', `v1/floating-ips/${enc(id)}`, { endpoint: null })));
  addDeleteCommand(fip, ctx, fips, 'give the address back');
}
