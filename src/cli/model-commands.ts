/**
 * plexusctl commands for the model (SPEC §6, §11): tenant, network, subnet,
 * endpoint — each with create, list, show, update, delete — mirroring
 * /v1/tenants, /v1/networks, /v1/subnets and /v1/endpoints.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AllocationPool, Route } from '../store/model';
import { ClientError, EXIT, type ApiClient } from './client';
import { render, type Column } from './output';
import { addDeleteCommand, addListCommand, addShowCommand, ifMatchHeader, IF_MATCH_OPTION, type CliContext } from './resource-commands';
import { waitForStatus } from './trace-commands';

type Row = Record<string, unknown>;

const col = (header: string, field: string): Column<Row> => ({ header, get: (r) => r[field] });

const tenantColumns = [col('ID', 'id'), col('NAME', 'name'), col('CREATED', 'createdAt')];
const networkColumns = [col('ID', 'id'), col('NAME', 'name'), col('TENANT', 'tenant'), col('VNI', 'vni'), col('MTU', 'mtu'), col('SUBNETS', 'subnets')];
const subnetColumns: Column<Row>[] = [
  col('ID', 'id'),
  col('NETWORK', 'network'),
  col('CIDR', 'cidr'),
  col('GATEWAY', 'gateway'),
  { header: 'DHCP', get: (r) => (r['dhcp'] ? 'on' : 'off') },
  { header: 'POOLS', get: (r) => (r['allocationPools'] as AllocationPool[]).map((p) => `${p.start}-${p.end}`) },
];
const endpointColumns = [
  col('ID', 'id'),
  col('NAME', 'name'),
  col('NETWORK', 'network'),
  col('MAC', 'mac'),
  col('IPS', 'ips'),
  col('KIND', 'kind'),
  col('STATUS', 'status'),
  col('HOST', 'host'),
  col('OFPORT', 'ofport'),
];

const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

function usage(message: string): ClientError {
  return new ClientError(message, EXIT.usage);
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a whole number');
  return Number(value);
}

function parsePool(text: string): AllocationPool {
  const [start, end, ...rest] = text.split('-');
  if (!start || !end || rest.length) throw usage(`--pool ${text}: expected START-END, e.g. 10.0.0.10-10.0.0.99`);
  return { start, end };
}

function parseRoute(text: string): Route {
  const [destination, nexthop, ...rest] = text.split(',');
  if (!destination || !nexthop || rest.length) throw usage(`--route ${text}: expected DESTINATION,NEXTHOP, e.g. 10.1.0.0/16,192.168.200.254`);
  return { destination, nexthop };
}

function parseLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usage(`--label ${item}: expected KEY=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Adds `field: value` to `body` only when the option was given. */
function given<T extends Row>(body: T, field: string, value: unknown): T {
  if (value !== undefined) (body as Row)[field] = value;
  return body;
}

/** Network id → name, so that lists show names (SPEC §6). */
async function networkNames(client: ApiClient): Promise<Map<string, string>> {
  return new Map((await client.listAll<{ id: string; name: string }>('v1/networks')).map((n) => [n.id, n.name]));
}
const withNetworkName = (names: ReadonlyMap<string, string>) => (r: Row): Row => ({ ...r, network: names.get(String(r['network'])) ?? r['network'] });

const enc = encodeURIComponent;

export function addModelCommands(program: Command, ctx: CliContext): void {
  const show = (data: unknown, columns: readonly Column<Row>[]): void => ctx.out(render(data as Row | Row[], ctx.format(), columns));
  const showAs = (columns: readonly Column<Row>[]) => (data: unknown): void => show(data, columns);
  const tenants = { path: 'v1/tenants', noun: 'tenant', ref: ['<id>', 'tenant id'], show: showAs(tenantColumns) } as const;
  const networks = { path: 'v1/networks', noun: 'network', ref: ['<network>', 'network id or name'], show: showAs(networkColumns) } as const;
  const subnets = { path: 'v1/subnets', noun: 'subnet', ref: ['<id>', 'subnet id'], show: showAs(subnetColumns) } as const;
  const endpoints = { path: 'v1/endpoints', noun: 'endpoint', ref: ['<id>', 'endpoint id or name'], show: showAs(endpointColumns) } as const;

  // ---------------------------------------------------------------- tenant
  const tenant = program.command('tenant').description('tenants: who owns networks ("default" always exists)');
  tenant
    .command('create')
    .argument('<name>', 'tenant name')
    .option('--id <ID>', 'tenant id (default: the name)')
    .description('create a tenant')
    .addHelpText('after', '\nExample:\n  plexusctl tenant create acme')
    .action(async (name: string, o: { id?: string }) => show(await ctx.client().call('POST', 'v1/tenants', given({ name }, 'id', o.id)), tenantColumns));
  addListCommand(tenant, ctx, tenants, 'list tenants');
  addShowCommand(tenant, ctx, tenants, 'show one tenant');
  tenant
    .command('update')
    .argument('<id>', 'tenant id')
    .requiredOption('--name <NAME>', 'new display name')
    .option(...IF_MATCH_OPTION)
    .description('rename a tenant')
    .action(async (id: string, o: { name: string; ifMatch?: string }) =>
      show(await ctx.client().call('PATCH', `v1/tenants/${enc(id)}`, { name: o.name }, ifMatchHeader(o.ifMatch)), tenantColumns),
    );
  addDeleteCommand(tenant, ctx, tenants, 'delete a tenant that owns no network', { ifMatch: true });

  // ---------------------------------------------------------------- network
  const network = program.command('network').description('networks: L2 segments over VXLAN, each with a unique VNI');
  network
    .command('create')
    .argument('<name>', 'network name (unique in its tenant)')
    .option('--tenant <TENANT>', 'owning tenant (default "default")')
    .option('--mtu <MTU>', 'MTU for workloads (default 1450)', integer)
    .option('--cidr <CIDR>', 'also create a subnet with this CIDR (repeat for dual stack)', repeat)
    .option('--gateway <IP>', 'gateway of the subnet (with a single --cidr; default: its first host address)')
    .option('--no-dhcp', 'serve no DHCP on the subnet(s)')
    .option('--external <PHYSNET>', 'an external network on this physical network (hosts map it in plexus-bridge-mappings)')
    .description('create a network, and its subnet(s) in the same command')
    .addHelpText(
      'after',
      '\nExamples:\n  plexusctl network create web --cidr 192.168.200.0/24\n  plexusctl network create db --tenant acme --cidr 10.1.0.0/24 --gateway 10.1.0.254 --mtu 1400\n  plexusctl network create dual --cidr 10.2.0.0/24 --cidr fd00:2::/64\n  plexusctl network create public --external physnet1 --cidr 198.51.100.0/24',
    )
    .action(async (name: string, o: { tenant?: string; mtu?: number; cidr?: string[]; gateway?: string; dhcp: boolean; external?: string }) => {
      const cidrs = o.cidr ?? [];
      if (o.gateway !== undefined && cidrs.length !== 1) throw usage('--gateway needs exactly one --cidr');
      const client = ctx.client();
      const external = o.external === undefined ? {} : { external: true, physicalNetwork: o.external };
      const net = await client.call<Row & { id: string }>('POST', 'v1/networks', given(given({ name, ...external }, 'tenant', o.tenant), 'mtu', o.mtu));
      const subnets: Row[] = [];
      try {
        for (const cidr of cidrs) {
          subnets.push(await client.call<Row>('POST', 'v1/subnets', given({ network: net.id, cidr, dhcp: o.dhcp }, 'gateway', o.gateway)));
        }
      } catch (err) {
        // One command, one outcome: do not leave a network without the subnet that was asked for.
        await client.call('DELETE', `v1/networks/${enc(net.id)}`).catch(() => undefined);
        throw err;
      }
      const result = cidrs.length ? { ...net, subnets: ctx.format() === 'table' ? subnets.map((s) => s['cidr']) : subnets } : net;
      show(result, networkColumns);
    });
  network
    .command('list')
    .option('--tenant <TENANT>', 'only this tenant')
    .description('list networks with their subnets')
    .action(async (o: { tenant?: string }) => {
      const client = ctx.client();
      const [nets, subs] = await Promise.all([
        client.listAll<Row & { id: string }>(o.tenant ? `v1/networks?tenant=${enc(o.tenant)}` : 'v1/networks'),
        client.listAll<Row & { network: string; cidr: string }>('v1/subnets'),
      ]);
      show(nets.map((n) => ({ ...n, subnets: subs.filter((s) => s.network === n.id).map((s) => s.cidr) })), networkColumns);
    });
  network
    .command('show')
    .argument('<network>', 'network id or name')
    .description('show one network and its subnets')
    .action(async (ref: string) => {
      const client = ctx.client();
      const net = await client.call<Row & { id: string }>('GET', `v1/networks/${enc(ref)}`);
      const subs = await client.listAll<Row & { cidr: string }>(`v1/subnets?network=${enc(net.id)}`);
      show({ ...net, subnets: ctx.format() === 'table' ? subs.map((s) => s.cidr) : subs }, networkColumns);
    });
  network
    .command('update')
    .argument('<network>', 'network id or name')
    .option('--name <NAME>', 'new name')
    .option('--mtu <MTU>', 'new MTU', integer)
    .option(...IF_MATCH_OPTION)
    .description('rename a network or change its MTU')
    .addHelpText('after', '\nExample:\n  plexusctl network update web --mtu 1400')
    .action(async (ref: string, o: { name?: string; mtu?: number; ifMatch?: string }) => {
      const body = given(given({}, 'name', o.name), 'mtu', o.mtu);
      if (!Object.keys(body).length) throw usage('nothing to update: give --name and/or --mtu');
      show(await ctx.client().call('PATCH', `v1/networks/${enc(ref)}`, body, ifMatchHeader(o.ifMatch)), networkColumns);
    });
  addDeleteCommand(network, ctx, networks, 'delete a network and its subnets (refused while it has endpoints)', { ifMatch: true });

  // ---------------------------------------------------------------- subnet
  const subnet = program.command('subnet').description('subnets: address ranges of a network, with IPAM');
  subnet
    .command('create')
    .requiredOption('--network <NETWORK>', 'network id or name')
    .requiredOption('--cidr <CIDR>', 'IPv4 or IPv6 CIDR')
    .option('--gateway <IP>', 'gateway (default: the first host address)')
    .option('--no-gateway', 'no gateway (an isolated subnet)')
    .option('--no-dhcp', 'serve no DHCP')
    .option('--pool <START-END>', 'allocation pool (repeatable; default: every host address but the gateway)', repeat)
    .option('--dns <IP>', 'DNS server handed out by DHCP (repeatable)', repeat)
    .option('--route <DEST,NEXTHOP>', 'static route handed out by DHCP (repeatable)', repeat)
    .description('create a subnet')
    .addHelpText(
      'after',
      '\nExamples:\n  plexusctl subnet create --network web --cidr 192.168.200.0/24\n  plexusctl subnet create --network web --cidr fd00:200::/64 --dns fd00:200::53\n  plexusctl subnet create --network db --cidr 10.1.0.0/24 --pool 10.1.0.100-10.1.0.199 --route 10.9.0.0/16,10.1.0.254',
    )
    .action(async (o: { network: string; cidr: string; gateway?: string | false; dhcp: boolean; pool?: string[]; dns?: string[]; route?: string[] }) => {
      const body: Row = { network: o.network, cidr: o.cidr, dhcp: o.dhcp };
      if (o.gateway === false) body['gateway'] = null;
      else given(body, 'gateway', o.gateway);
      given(body, 'allocationPools', o.pool?.map(parsePool));
      given(body, 'dnsServers', o.dns);
      given(body, 'routes', o.route?.map(parseRoute));
      show(await ctx.client().call('POST', 'v1/subnets', body), subnetColumns);
    });
  subnet
    .command('list')
    .option('--network <NETWORK>', 'only this network (id or name)')
    .description('list subnets')
    .action(async (o: { network?: string }) => {
      const client = ctx.client();
      const [subs, names] = await Promise.all([client.listAll<Row>(o.network ? `v1/subnets?network=${enc(o.network)}` : 'v1/subnets'), networkNames(client)]);
      show(ctx.format() === 'table' ? subs.map(withNetworkName(names)) : subs, subnetColumns);
    });
  addShowCommand(subnet, ctx, subnets, 'show one subnet');
  subnet
    .command('update')
    .argument('<id>', 'subnet id')
    .option('--dhcp', 'serve DHCP')
    .option('--no-dhcp', 'serve no DHCP')
    .option('--dns <IP>', 'DNS servers (repeatable; replaces the list)', repeat)
    .option('--route <DEST,NEXTHOP>', 'static routes (repeatable; replaces the list)', repeat)
    .option(...IF_MATCH_OPTION)
    .description('change DHCP, DNS servers or routes of a subnet')
    .action(async (id: string, o: { dhcp?: boolean; dns?: string[]; route?: string[]; ifMatch?: string }) => {
      const body = given(given(given({}, 'dhcp', o.dhcp), 'dnsServers', o.dns), 'routes', o.route?.map(parseRoute));
      if (!Object.keys(body).length) throw usage('nothing to update: give --dhcp/--no-dhcp, --dns or --route');
      show(await ctx.client().call('PATCH', `v1/subnets/${enc(id)}`, body, ifMatchHeader(o.ifMatch)), subnetColumns);
    });
  addDeleteCommand(subnet, ctx, subnets, 'delete a subnet none of whose addresses is allocated', { ifMatch: true });

  // ---------------------------------------------------------------- endpoint
  const endpoint = program.command('endpoint').description('endpoints: workload NICs (VM taps, container veths) and where they are attached');
  endpoint
    .command('create')
    .requiredOption('--network <NETWORK>', 'network id or name')
    .option('--id <ID>', 'endpoint id, e.g. the iface-id the interface will carry (default: generated)')
    .option('--name <NAME>', 'display name')
    .option('--mac <MAC>', 'MAC address (default: generated, locally administered)')
    .option('--ip <IP>', 'address (repeatable; default: one allocated per subnet)', repeat)
    .option('--kind <KIND>', 'vm, container or other')
    .option('--security-group <ID>', 'security group (repeatable)', repeat)
    .option('--qos-policy <POLICY>', "QoS policy id or name (default: the network's)")
    .option('--label <KEY=VALUE>', 'label (repeatable)', repeat)
    .option('--wait', 'return only once the endpoint is installed on its host (its interface must appear there)')
    .option('--timeout <SECONDS>', 'with --wait: give up after this long (exit 1)', integer, 60)
    .description('create an endpoint: MAC and one address per IP family allocated unless given')
    .addHelpText(
      'after',
      '\nExamples:\n  plexusctl endpoint create --network web --name c1 --kind container\n  plexusctl endpoint create --network web --id port-1 --mac 02:aa:00:00:00:01 --ip 192.168.200.77 --kind vm\n  then: ovs-vsctl add-port br-int tap0 -- set Interface tap0 external_ids:iface-id=port-1',
    )
    .action(
      async (o: { network: string; id?: string; name?: string; mac?: string; ip?: string[]; kind?: string; securityGroup?: string[]; qosPolicy?: string; label?: string[]; wait?: boolean; timeout: number }) => {
        const body: Row = { network: o.network };
        given(body, 'id', o.id);
        given(body, 'name', o.name);
        given(body, 'mac', o.mac);
        given(body, 'ips', o.ip);
        given(body, 'kind', o.kind);
        given(body, 'securityGroups', o.securityGroup);
        given(body, 'qosPolicy', o.qosPolicy);
        given(body, 'labels', o.label ? parseLabels(o.label) : undefined);
        const client = ctx.client();
        const created = await client.call<Row & { id: string }>('POST', 'v1/endpoints', body);
        show(o.wait ? await waitForStatus(client, created.id, 'installed', o.timeout * 1000) : created, endpointColumns);
      },
    );
  endpoint
    .command('list')
    .option('--network <NETWORK>', 'only this network (id or name)')
    .option('-l, --selector <SELECTOR>', 'only endpoints whose labels match, e.g. app=web,tier!=db')
    .description('list endpoints with their status and host, sorted by name')
    .action(async (o: { network?: string; selector?: string }) => {
      const client = ctx.client();
      const query = [o.network ? `network=${enc(o.network)}` : '', o.selector ? `labelSelector=${enc(o.selector)}` : ''].filter(Boolean).join('&');
      const [eps, names] = await Promise.all([client.listAll<Row>(`v1/endpoints${query ? `?${query}` : ''}`), networkNames(client)]);
      show(ctx.format() === 'table' ? eps.map(withNetworkName(names)) : eps, endpointColumns);
    });
  addShowCommand(endpoint, ctx, { ...endpoints, ref: ['<endpoint>', 'endpoint id or name'] }, 'drill down: network, addresses, MAC, host, status history and flows');
  endpoint
    .command('update')
    .argument('<id>', 'endpoint id or name')
    .option('--name <NAME>', 'new display name')
    .option('--security-group <ID>', 'security groups (repeatable; replaces the list)', repeat)
    .option('--no-security-groups', 'remove every security group')
    .option('--qos-policy <POLICY>', 'QoS policy id or name')
    .option('--no-qos-policy', "remove the endpoint's own QoS policy (the network's applies)")
    .option('--label <KEY=VALUE>', 'labels (repeatable; replaces the set)', repeat)
    .option(...IF_MATCH_OPTION)
    .description('change name, labels or security groups of an endpoint')
    .action(async (id: string, o: { name?: string; securityGroup?: string[]; securityGroups?: boolean; qosPolicy?: string | false; label?: string[]; ifMatch?: string }) => {
      const body: Row = {};
      given(body, 'name', o.name);
      given(body, 'securityGroups', o.securityGroups === false ? [] : o.securityGroup);
      given(body, 'qosPolicy', o.qosPolicy === false ? null : o.qosPolicy);
      given(body, 'labels', o.label ? parseLabels(o.label) : undefined);
      if (!Object.keys(body).length) throw usage('nothing to update: give --name, --security-group, --qos-policy or --label');
      show(await ctx.client().call('PATCH', `v1/endpoints/${enc(id)}`, body, ifMatchHeader(o.ifMatch)), endpointColumns);
    });
  addDeleteCommand(endpoint, ctx, endpoints, 'delete an endpoint; frees its addresses and MAC', { ifMatch: true });
}
