/**
 * `plexusctl router` (SPEC §11): create, list, show, update (static routes),
 * delete, and add-interface / remove-interface, mirroring /v1/routers.
 */
import type { Command } from 'commander';
import type { Route } from '../store/model';
import { ClientError, EXIT } from './client';
import { render, type Column } from './output';
import { addDeleteCommand, addListCommand, addShowCommand, ifMatchHeader, type CliContext } from './resource-commands';

type Row = Record<string, unknown>;
const enc = encodeURIComponent;
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

const routerColumns: Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'NAME', get: (r) => r['name'] },
  { header: 'TENANT', get: (r) => r['tenant'] },
  { header: 'MAC', get: (r) => r['mac'] },
  { header: 'INTERFACES', get: (r) => ((r['interfaces'] as { cidr: string; ip: string }[] | undefined) ?? []).map((i) => `${i.ip} (${i.cidr})`) },
  { header: 'ROUTES', get: (r) => ((r['routes'] as Route[] | undefined) ?? []).map((x) => `${x.destination} via ${x.nexthop}`) },
  { header: 'EXTERNAL', get: (r) => { const g = r['externalGateway'] as { ip: string; snat: boolean } | undefined; return g ? `${g.ip}${g.snat ? ' (snat)' : ''}` : '-'; } },
];

function parseRoute(text: string): Route {
  const [destination, nexthop, ...rest] = text.split(',');
  if (!destination || !nexthop || rest.length) throw new ClientError(`--route ${text}: expected DESTINATION,NEXTHOP, e.g. 10.9.0.0/16,10.1.0.254`, EXIT.usage);
  return { destination, nexthop };
}

export function addRouterCommands(program: Command, ctx: CliContext): void {
  // In tables, interfaces and routes read as "10.1.0.1 (10.1.0.0/24)" and "10.9.0.0/16 via 10.1.0.254".
  const summarize = (r: Row): Row => ({ ...r, interfaces: routerColumns[4]!.get(r), routes: routerColumns[5]!.get(r), external: routerColumns[6]!.get(r) });
  const show = (body: unknown): void => {
    const rows = ctx.format() === 'table' ? (Array.isArray(body) ? (body as Row[]).map(summarize) : summarize(body as Row)) : (body as Row | Row[]);
    ctx.out(render(rows, ctx.format(), routerColumns.map((c, i) => (i >= 4 ? { header: c.header, get: (r: Row) => r[c.header.toLowerCase()] } : c))));
  };
  const routers = { path: 'v1/routers', noun: 'router', ref: ['<router>', 'router id or name'], show } as const;
  const router = program.command('router').description('distributed routers: interfaces on subnets, static routes');
  router
    .command('create')
    .argument('<name>', 'router name (unique in its tenant)')
    .option('--tenant <TENANT>', "tenant (default: the token's, else default)")
    .description('create a router')
    .addHelpText('after', '\nExamples:\n  plexusctl router create r1\n  plexusctl router add-interface r1 --subnet <subnet-id>\n  plexusctl router update r1 --route 10.9.0.0/16,10.1.0.254')
    .action(async (name: string, o: { tenant?: string }) => show(await ctx.client().call('POST', 'v1/routers', { name, ...(o.tenant ? { tenant: o.tenant } : {}) })));
  addListCommand(router, ctx, routers, 'list routers');
  addShowCommand(router, ctx, routers, 'show one router');
  router
    .command('update')
    .argument('<router>', 'router id or name')
    .option('--name <NAME>', 'new name')
    .option('--route <DEST,NEXTHOP>', 'static routes (repeatable; replaces the list)', repeat)
    .option('--no-routes', 'remove every static route')
    .option('--external-gateway <NETWORK>', 'external network for the way out (SNAT unless --no-snat)')
    .option('--no-snat', 'with --external-gateway: no SNAT (floating IPs only)')
    .option('--no-external-gateway', 'remove the external gateway')
    .option('--if-match <REVISION>', 'only if the router is still at this revision')
    .description('rename a router, replace its static routes or set its external gateway')
    .action(async (ref: string, o: { name?: string; route?: string[]; routes?: boolean; externalGateway?: string | false; snat?: boolean; ifMatch?: string }) => {
      const body: Row = {};
      if (typeof o.externalGateway === 'string') body['externalGateway'] = { network: o.externalGateway, snat: o.snat !== false };
      else if (o.externalGateway === false) body['externalGateway'] = null;
      if (o.name !== undefined) body['name'] = o.name;
      if (o.route) body['routes'] = o.route.map(parseRoute);
      else if (o.routes === false) body['routes'] = [];
      if (!Object.keys(body).length) throw new ClientError('nothing to update: give --name, --route, --no-routes or --external-gateway', EXIT.usage);
      show(await ctx.client().call('PATCH', `v1/routers/${enc(ref)}`, body, ifMatchHeader(o.ifMatch)));
    });
  router
    .command('add-interface')
    .argument('<router>', 'router id or name')
    .requiredOption('--subnet <SUBNET>', 'subnet id')
    .option('--ip <IP>', "the router's address on the subnet (default: the subnet's gateway)")
    .description('put the router on a subnet')
    .action(async (ref: string, o: { subnet: string; ip?: string }) =>
      show(await ctx.client().call('POST', `v1/routers/${enc(ref)}/interfaces`, { subnet: o.subnet, ...(o.ip ? { ip: o.ip } : {}) })),
    );
  router
    .command('remove-interface')
    .argument('<router>', 'router id or name')
    .requiredOption('--subnet <SUBNET>', 'subnet id')
    .description('take the router off a subnet')
    .action(async (ref: string, o: { subnet: string }) => show(await ctx.client().call('DELETE', `v1/routers/${enc(ref)}/interfaces/${enc(o.subnet)}`)));
  addDeleteCommand(router, ctx, routers, 'delete a router without interfaces');
}
