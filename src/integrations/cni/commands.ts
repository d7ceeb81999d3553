/**
 * The CNI operations of `plexus-cni` (SPEC §7): ADD creates the Plexus endpoint,
 * the veth with one end in CNI_NETNS (renamed CNI_IFNAME, addressed, routed) and
 * the other on br-int with `iface-id`, and returns once `plexus-installed`. DEL
 * undoes it and is idempotent. CHECK verifies the interface, its addresses and
 * `plexus-installed`. GC removes this host's attachments the runtime no longer
 * has. STATUS says whether Plexus and OVS can take an ADD.
 *
 * The endpoint id is derived from (network config name, container id, ifname), so
 * DEL and GC need no state of their own.
 */
import { createHash } from 'node:crypto';
import type { Subnet } from '../../store/model';
import { containsIp } from '../addresses';
import { CommandError, runCommand } from '../exec';
import {
  addPort,
  AttachError,
  createVeth,
  DEFAULT_OVS_DB,
  deleteLinkIfExists,
  deletePort,
  INTEGRATION_BRIDGE,
  ipIn,
  linkExists,
  linkNamesFor,
  listInterfaces,
  readDatapathType,
  vsctl,
  waitForInstalled,
  type OvsTarget,
} from '../ovs-port';
import {
  ApiClient,
  checkReady,
  ClientError,
  createEndpoint,
  deleteEndpoint,
  EXIT,
  findEndpoint,
  findNetwork,
  listEndpoints,
  listSubnets,
  type EndpointView,
} from '../plexus-api';
import { CNI_ERROR, CniError, type CniEnv, type CniIp, type CniResult, type CniRoute, type PlexusCniConfig } from './spec';

/** Interface external_ids key that marks ports plexus-cni created (value: the network config name). */
export const CNI_PORT_MARK = 'plexus-cni-network';
const DEFAULT_INSTALL_TIMEOUT_MS = 30_000;

export interface CniContext {
  readonly config: PlexusCniConfig;
  readonly env: CniEnv;
  readonly api: ApiClient;
  readonly ovs: OvsTarget;
}

export function createContext(config: PlexusCniConfig, env: CniEnv): CniContext {
  return {
    config,
    env,
    api: new ApiClient({
      url: config.plexusUrl,
      ...(config.tokenFile ? { tokenFile: config.tokenFile } : {}),
      ...(config.caFile ? { cacert: config.caFile } : {}),
      ...(config.certFile ? { cert: config.certFile, key: config.keyFile ?? '' } : {}),
    }),
    ovs: { db: config.ovsdb ?? DEFAULT_OVS_DB, bridge: config.bridge ?? INTEGRATION_BRIDGE },
  };
}

/** Stable endpoint id of one attachment. */
export function endpointIdFor(configName: string, containerId: string, ifname: string): string {
  return `cni-${createHash('sha256').update(`${configName}\0${containerId}\0${ifname}`).digest('hex').slice(0, 24)}`;
}

/** Maps a failure to the CNI error a runtime can act on (11 = try again later). */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof ClientError) {
    if (err.isUnreachable) return new CniError(CNI_ERROR.TRY_AGAIN_LATER, `Plexus is unreachable: ${err.message}`, 'Plexus could not be reached; retry once it is up');
    // A bad plexusUrl, an unreadable tokenFile/caFile: the configuration is wrong.
    if (err.exitCode === EXIT.usage) return new CniError(CNI_ERROR.INVALID_CONFIG, err.message);
    if (err.recoverable) return new CniError(CNI_ERROR.TRY_AGAIN_LATER, err.message);
    return new CniError(CNI_ERROR.PLEXUS_REFUSED, err.message);
  }
  if (err instanceof AttachError) return new CniError(err.recoverable ? CNI_ERROR.TRY_AGAIN_LATER : CNI_ERROR.PLEXUS_REFUSED, err.message);
  if (err instanceof CommandError) {
    if (/ovs-vsctl/.test(err.message) && /database connection failed|No such file|Connection refused/.test(err.message)) {
      return new CniError(CNI_ERROR.TRY_AGAIN_LATER, `Open vSwitch is not reachable: ${err.message}`);
    }
    return new CniError(CNI_ERROR.IO_FAILURE, err.message);
  }
  return new CniError(CNI_ERROR.IO_FAILURE, err instanceof Error ? err.message : String(err));
}

async function readSystemId(ovs: OvsTarget): Promise<string> {
  const r = await vsctl(ovs, 'get', 'Open_vSwitch', '.', 'external_ids:system-id');
  return r.stdout.trim().replace(/^"|"$/g, '');
}

function prefixOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

function subnetFor(ip: string, subnets: readonly Subnet[]): Subnet | undefined {
  const v6 = ip.includes(':');
  return subnets.find((s) => (s.ipVersion === 6) === v6 && containsIp(s.cidr, ip));
}

async function linkMac(netns: string | undefined, dev: string): Promise<string> {
  const r = await ipIn(netns, '-j', 'link', 'show', 'dev', dev);
  return ((JSON.parse(r.stdout) as { address?: string }[])[0]?.address ?? '').toLowerCase();
}

function buildResult(ctx: CniContext, ep: EndpointView, subnets: readonly Subnet[], hostLink: { name: string; mac: string }, mtu: number): CniResult {
  const version = ctx.config.cniVersion;
  const ips: CniIp[] = [];
  const routes: CniRoute[] = [];
  const nameservers = new Set<string>();
  for (const addr of ep.ips) {
    const s = subnetFor(addr, subnets);
    if (!s) continue;
    ips.push({
      address: `${addr}/${prefixOf(s.cidr)}`,
      ...(s.gateway ? { gateway: s.gateway } : {}),
      interface: 1,
      ...(version === '0.4.0' ? { version: s.ipVersion === 6 ? '6' : '4' } : {}),
    });
    if (s.gateway) routes.push({ dst: s.ipVersion === 6 ? '::/0' : '0.0.0.0/0', gw: s.gateway });
    for (const r of s.routes) routes.push({ dst: r.destination, gw: r.nexthop });
    for (const d of s.dnsServers) nameservers.add(d);
  }
  return {
    cniVersion: version,
    interfaces: [
      { name: hostLink.name, mac: hostLink.mac },
      { name: ctx.env.ifname, mac: ep.mac, sandbox: ctx.env.netns, ...(version === '1.1.0' ? { mtu } : {}) },
    ],
    ips,
    routes,
    dns: nameservers.size > 0 ? { nameservers: [...nameservers] } : {},
  };
}

/** CNI ADD (see the module comment). Cleans up what it made when a step fails. */
export async function cniAdd(ctx: CniContext): Promise<CniResult> {
  const { config, env, api, ovs } = ctx;
  const id = endpointIdFor(config.name, env.containerId, env.ifname);
  const names = linkNamesFor('cni', id);
  const hostId = await readSystemId(ovs);
  const network = await findNetwork(api, config.network);
  if (!network) throw new CniError(CNI_ERROR.PLEXUS_REFUSED, `Plexus has no network "${config.network}" (create it first: plexusctl network create ${config.network} --cidr ...)`);
  const subnets = await listSubnets(api, network.id);
  if (subnets.length === 0) throw new CniError(CNI_ERROR.PLEXUS_REFUSED, `Plexus network "${config.network}" has no subnet to take an address from`);

  const requestedIps = config.runtimeConfig?.ips?.map((a) => a.split('/')[0] ?? a) ?? (env.args['IP'] ? [env.args['IP']] : undefined);
  let created = false;
  let ep = await findEndpoint(api, id);
  if (!ep) {
    ep = await createEndpoint(api, {
      id,
      network: network.id,
      // Names are path segments in the API (no '/'), unique in the tenant: the whole container id (ifname ≤ 15 chars).
      name: `${env.containerId.slice(0, 237)}-${env.ifname}`,
      kind: 'container',
      labels: { 'cni.network': config.name, 'cni.containerID': env.containerId.slice(0, 253), 'cni.ifname': env.ifname, 'cni.host': hostId },
      ...(config.securityGroups ? { securityGroups: config.securityGroups } : {}),
      ...(config.runtimeConfig?.mac ? { mac: config.runtimeConfig.mac.toLowerCase() } : {}),
      ...(requestedIps ? { ips: requestedIps } : {}),
    });
    created = true;
  }
  try {
    const datapathType = await readDatapathType(ovs);
    await deletePort(ovs, names.host);
    await deleteLinkIfExists(names.host);
    await createVeth({ host: names.host, peer: names.peer, mtu: network.mtu, peerMac: ep.mac, txOffloadOff: datapathType === 'netdev' });
    await runCommand('ip', ['link', 'set', names.peer, 'netns', env.netns]);
    await ipIn(env.netns, 'link', 'set', names.peer, 'name', env.ifname);
    await ipIn(env.netns, 'link', 'set', env.ifname, 'up');
    for (const addr of ep.ips) {
      const s = subnetFor(addr, subnets);
      if (!s) continue;
      await ipIn(env.netns, ...(s.ipVersion === 6 ? ['-6'] : []), 'addr', 'add', `${addr}/${prefixOf(s.cidr)}`, 'dev', env.ifname, ...(s.ipVersion === 6 ? ['nodad'] : []));
    }
    for (const addr of ep.ips) {
      const s = subnetFor(addr, subnets);
      if (!s) continue;
      const fam = s.ipVersion === 6 ? ['-6'] : ['-4'];
      if (s.gateway) await ipIn(env.netns, ...fam, 'route', 'replace', 'default', 'via', s.gateway, 'dev', env.ifname);
      for (const r of s.routes) await ipIn(env.netns, ...fam, 'route', 'replace', r.destination, 'via', r.nexthop, 'dev', env.ifname);
    }
    await addPort(ovs, names.host, {
      'iface-id': id,
      'attached-mac': ep.mac,
      'iface-status': 'active',
      container_id: env.containerId,
      container_iface: env.ifname,
      [CNI_PORT_MARK]: config.name,
    });
    await waitForInstalled(ovs, names.host, config.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS);
    const hostMac = await linkMac(undefined, names.host);
    return buildResult(ctx, ep, subnets, { name: names.host, mac: hostMac }, network.mtu);
  } catch (err) {
    await deletePort(ovs, names.host).catch(() => undefined);
    await deleteLinkIfExists(names.host);
    if (created) await deleteEndpoint(api, id).catch(() => undefined);
    throw err;
  }
}

/** CNI DEL: idempotent; the netns may already be gone. */
export async function cniDel(ctx: CniContext): Promise<void> {
  const { config, env, api, ovs } = ctx;
  const id = endpointIdFor(config.name, env.containerId, env.ifname);
  const names = linkNamesFor('cni', id);
  await deletePort(ovs, names.host);
  await deleteLinkIfExists(names.host);
  await deleteEndpoint(api, id);
}

/** CNI CHECK: the attachment is still as ADD left it. */
export async function cniCheck(ctx: CniContext): Promise<void> {
  const { config, env, api, ovs } = ctx;
  const id = endpointIdFor(config.name, env.containerId, env.ifname);
  const names = linkNamesFor('cni', id);
  const fail = (msg: string): never => {
    throw new CniError(CNI_ERROR.CHECK_FAILED, msg);
  };
  const ep = await findEndpoint(api, id);
  if (!ep) fail(`Plexus has no endpoint ${id} for container ${env.containerId} ${env.ifname}`);
  if (ep!.status !== 'installed') fail(`endpoint ${id} is ${ep!.status} in Plexus, not installed`);
  const [row] = await listInterfaces(ovs, names.host);
  if (!row) fail(`${names.host} is not on ${ovs.bridge}`);
  if (row!.externalIds['iface-id'] !== id) fail(`${names.host} has iface-id ${row!.externalIds['iface-id'] ?? '(none)'}, expected ${id}`);
  if (row!.externalIds['plexus-installed'] !== 'true') fail(`${names.host} has no plexus-installed=true`);
  if (!(await linkExists(env.netns, env.ifname))) fail(`${env.ifname} does not exist in ${env.netns}`);
  const mac = await linkMac(env.netns, env.ifname);
  if (mac !== ep!.mac) fail(`${env.ifname} has MAC ${mac}, Plexus expects ${ep!.mac}`);
  const shown = JSON.parse((await ipIn(env.netns, '-j', 'addr', 'show', 'dev', env.ifname)).stdout) as { addr_info?: { local: string }[] }[];
  const present = new Set((shown[0]?.addr_info ?? []).map((a) => a.local));
  for (const addr of ep!.ips) if (!present.has(addr)) fail(`${env.ifname} lacks ${addr}`);
  for (const ip of config.prevResult?.ips ?? []) {
    const addr = ip.address.split('/')[0] ?? '';
    if (!ep!.ips.includes(addr)) fail(`prevResult has ${addr}, Plexus endpoint ${id} has ${ep!.ips.join(', ')}`);
  }
}

/** CNI GC (1.1.0): removes this host's attachments of this network that the runtime no longer lists. */
export async function cniGc(ctx: CniContext): Promise<{ endpoints: string[]; ports: string[] }> {
  const { config, api, ovs } = ctx;
  const valid = config['cni.dev/valid-attachments'];
  if (!Array.isArray(valid)) throw new CniError(CNI_ERROR.INVALID_CONFIG, 'GC needs "cni.dev/valid-attachments" (refusing to treat every attachment as stale)');
  const keep = new Set(valid.map((a) => endpointIdFor(config.name, a.containerID, a.ifname)));
  const hostId = await readSystemId(ovs);
  const removedPorts: string[] = [];
  for (const row of await listInterfaces(ovs)) {
    if (row.externalIds[CNI_PORT_MARK] !== config.name) continue;
    const epId = row.externalIds['iface-id'] ?? '';
    if (keep.has(epId)) continue;
    await deletePort(ovs, row.name);
    await deleteLinkIfExists(row.name);
    removedPorts.push(row.name);
  }
  const removedEndpoints: string[] = [];
  const network = await findNetwork(api, config.network);
  if (network) {
    for (const ep of await listEndpoints(api, network.id)) {
      if (ep.labels['cni.network'] !== config.name || ep.labels['cni.host'] !== hostId || keep.has(ep.id)) continue;
      await deleteEndpoint(api, ep.id);
      removedEndpoints.push(ep.id);
    }
  }
  return { endpoints: removedEndpoints, ports: removedPorts };
}

/** CNI STATUS (1.1.0): Plexus answers and br-int exists on this host. */
export async function cniStatus(ctx: CniContext): Promise<void> {
  try {
    await checkReady(ctx.api);
  } catch (err) {
    throw new CniError(CNI_ERROR.PLUGIN_NOT_AVAILABLE, `Plexus is not available: ${(err as Error).message}`);
  }
  const r = await runCommand('ovs-vsctl', [`--db=${ctx.ovs.db}`, '--timeout=5', 'br-exists', ctx.ovs.bridge], { allowFail: true });
  if (r.code !== 0) {
    const why = r.code === 2 ? `${ctx.ovs.bridge} does not exist yet (host not adopted by plexusd?)` : `OVSDB ${ctx.ovs.db} not reachable: ${r.stderr.trim()}`;
    throw new CniError(CNI_ERROR.PLUGIN_NOT_AVAILABLE, `Open vSwitch is not ready: ${why}`);
  }
}
