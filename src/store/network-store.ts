/**
 * Networks (SPEC §3): unique VNI and unique name per tenant, both claimed in
 * the transaction that creates the network (vnis/<vni> and
 * network-names/<tenant>/<name> absent; a non-default tenant present). A
 * network is deleted with its subnets, only while it has no endpoint and no
 * allocated address.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { Collection, type Versioned } from './collection';
import { checkId, checkMtu, checkName, isoNow, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { resolveNetwork, subnetsOf } from './model-reads';
import { DEFAULT_TENANT, type Network } from './model';
import { absent, del, delPrefix, emptyPrefix, getString, MAX_ATTEMPTS, modifyRecord, present, put, removeRecord, runTxn, type StoreContext } from './txn';

/** Default MTU of a network: 1500 minus the 50 bytes of VXLAN over IPv4. */
export const DEFAULT_MTU = 1450;
export const MIN_VNI = 1;
export const MAX_VNI = 16_777_215;

export interface CreateNetworkInput {
  /** Client-chosen id (as for endpoints); generated (UUID v4) when absent. */
  readonly id?: string;
  readonly name: string;
  readonly tenant?: string;
  readonly mtu?: number;
  readonly external?: boolean;
  readonly physicalNetwork?: string;
}
export interface NetworkPatch {
  readonly name?: string;
  readonly mtu?: number;
  /** QoS policy id for its endpoints without their own (the API resolves names); null removes it. */
  readonly qosPolicy?: string | null;
}

/** `external` and `physicalNetwork` come together (SPEC §3); the name is what hosts map in plexus-bridge-mappings. */
function checkExternal(input: CreateNetworkInput): Pick<Network, 'external' | 'physicalNetwork'> {
  if (!input.external) {
    if (input.physicalNetwork !== undefined) throw new InvalidRequestError('physicalNetwork is only for an external network ("external": true)');
    return {};
  }
  if (input.physicalNetwork === undefined) throw new InvalidRequestError('an external network needs "physicalNetwork": the name hosts map to a bridge in plexus-bridge-mappings');
  if (!PHYSNET_RE.test(input.physicalNetwork)) {
    throw new InvalidRequestError(`physicalNetwork "${input.physicalNetwork}" is invalid: 1-40 letters, digits, '_', '.', '-', starting with a letter or digit (no ':' or ',': it is written in plexus-bridge-mappings)`);
  }
  return { external: true, physicalNetwork: input.physicalNetwork };
}

export const PHYSNET_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

export class NetworkStore {
  private readonly records: Collection<Network>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<Network>(ctx.client, ctx.keys.networks());
  }

  async list(filter: { tenant?: string } = {}): Promise<Versioned<Network>[]> {
    const all = await this.records.list();
    return filter.tenant === undefined ? all : all.filter((n) => n.value.tenant === filter.tenant);
  }

  resolve(idOrName: string, tenant?: string): Promise<Versioned<Network>> {
    return resolveNetwork(this.ctx, idOrName, tenant);
  }

  /** Creates a network with a VNI no other network has. */
  async create(input: CreateNetworkInput): Promise<Versioned<Network>> {
    const { keys } = this.ctx;
    const name = checkName('network name', input.name);
    const tenant = input.tenant ?? DEFAULT_TENANT;
    checkName('tenant', tenant);
    const mtu = checkMtu(input.mtu ?? DEFAULT_MTU);
    const externalFields = checkExternal(input);
    const id = input.id === undefined ? randomUUID() : checkId('network id', input.id);
    const nameKey = keys.networkName(tenant, name);
    const tenantGuard = tenant === DEFAULT_TENANT ? [] : [present(keys.tenant(tenant))];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const vni = randomInt(MIN_VNI, MAX_VNI + 1);
      const at = isoNow();
      const network: Network = { id, name, tenant, vni, mtu, ...externalFields, createdAt: at, updatedAt: at };
      const vniKey = keys.vni(vni);
      const res = await runTxn(
        this.ctx,
        [absent(nameKey), absent(vniKey), absent(keys.network(id)), ...tenantGuard],
        [put(keys.network(network.id), network), put(nameKey, network.id), put(vniKey, network.id)],
      );
      if (res.succeeded) return { value: network, revision: res.revision };
      const [nameTaken, , idTaken, tenantFound] = res.found;
      if (nameTaken) {
        throw new ResourceConflictError('duplicate', `network "${name}" already exists in tenant "${tenant}" (id ${nameTaken.value.toString()})`, {
          network: nameTaken.value.toString(),
        });
      }
      if (tenantGuard.length && !tenantFound) throw new ResourceNotFoundError('tenant', tenant);
      if (idTaken) throw new ResourceConflictError('duplicate', `network "${id}" already exists`, { network: id });
      // The random VNI was taken: draw another.
    }
    throw new ResourceConflictError('exhausted', `no free VNI found in ${MAX_ATTEMPTS} attempts`);
  }

  async update(idOrName: string, patch: NetworkPatch, ifMatch?: string): Promise<Versioned<Network>> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    const newName = patch.name === undefined ? undefined : checkName('network name', patch.name);
    const mtu = patch.mtu === undefined ? undefined : checkMtu(patch.mtu);
    return modifyRecord(this.ctx, keys.network(id), () => this.load(id, idOrName), ifMatch, async (cur) => {
      const value: Network = { ...cur, ...(newName !== undefined ? { name: newName } : {}), ...(mtu !== undefined ? { mtu } : {}), ...(patch.qosPolicy !== undefined ? { qosPolicy: patch.qosPolicy } : {}), updatedAt: isoNow() };
      if (newName === undefined || newName === cur.name) return { value };
      const newKey = keys.networkName(cur.tenant, newName);
      const holder = await getString(this.ctx, newKey);
      if (holder !== undefined) throw new ResourceConflictError('duplicate', `network "${newName}" already exists in tenant "${cur.tenant}" (id ${holder})`, { network: holder });
      return { value, guards: [absent(newKey)], ops: [del(keys.networkName(cur.tenant, cur.name)), put(newKey, id)] };
    });
  }

  /**
   * Deletes a network and its subnets. Refused (409) while it has endpoints or
   * any of its subnets has an allocated address.
   */
  async delete(idOrName: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    await removeRecord(this.ctx, keys.network(id), () => this.load(id, idOrName), ifMatch, async (cur) => {
      const subnets = await subnetsOf(this.ctx, id);
      return {
        guards: [emptyPrefix(keys.endpoints(id)), ...subnets.map((s) => emptyPrefix(keys.ips(s.value.id)))],
        ops: [del(keys.network(id)), del(keys.networkName(cur.tenant, cur.name)), del(keys.vni(cur.vni)), delPrefix(keys.subnets(id)), ...subnets.map((s) => del(keys.ipamCursor(s.value.id)))],
        explain: (found) => {
          const ep = found[1];
          if (ep) throw new ResourceConflictError('in-use', `network "${cur.name}" still has endpoints (e.g. ${keys.endpointOf(ep.key.toString())}): delete them first`, { network: id });
          const i = found.slice(2).findIndex((kv) => kv !== undefined);
          if (i >= 0) {
            const s = subnets[i]!.value;
            throw new ResourceConflictError('in-use', `subnet ${s.id} (${s.cidr}) of network "${cur.name}" still has allocated addresses`, { subnet: s.id });
          }
        },
      };
    });
  }

  private async load(id: string, asked: string): Promise<Versioned<Network>> {
    return (await this.records.get(id)) ?? throwNotFound('network', asked);
  }
}
