/**
 * plexus-docker's state file: the Docker → Plexus mapping of networks and
 * endpoints, and the addresses IPAM reserved, kept across restarts. Written
 * whole (temporary file, then rename) after every change.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DriverError } from './libnetwork';

export interface NetworkState {
  /** Plexus network id. */
  plexus: string;
  /** Whether plexus-docker created the Plexus network (then DeleteNetwork deletes it). */
  created: boolean;
  pools: string[];
  securityGroups: string[];
  qosPolicy: string | undefined;
}

export interface EndpointState {
  network: string;
  plexus: string;
  mac: string;
}

interface DriverStateFile {
  networks: Record<string, NetworkState>;
  endpoints: Record<string, EndpointState>;
  /** Addresses the IPAM driver took from Plexus ("<plexus network>|<ip>" → endpoint id) not yet claimed by CreateEndpoint. */
  reserved: Record<string, string>;
}

/** The key of an address IPAM reserved in a Plexus network. */
export function reservedKey(plexusNetwork: string, ip: string): string {
  return `${plexusNetwork}|${ip}`;
}

export class DriverState {
  private data: DriverStateFile = { networks: {}, endpoints: {}, reserved: {} };

  constructor(private readonly file: string) {}

  /** Docker network id → its Plexus side. */
  get networks(): Record<string, NetworkState> {
    return this.data.networks;
  }
  /** Docker endpoint id → its Plexus endpoint. */
  get endpoints(): Record<string, EndpointState> {
    return this.data.endpoints;
  }
  get reserved(): Record<string, string> {
    return this.data.reserved;
  }

  /** Reads the file; none yet (first start) or unreadable leaves the state empty. */
  load(): void {
    try {
      this.data = { networks: {}, endpoints: {}, reserved: {}, ...(JSON.parse(readFileSync(this.file, 'utf8')) as Partial<DriverStateFile>) };
    } catch {
      /* first start: no state yet */
    }
  }

  save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.file);
  }

  /** The network a request names; a DriverError when this driver never saw it. */
  network(dockerId: string): NetworkState {
    const n = this.data.networks[dockerId];
    if (!n) throw new DriverError(`plexus-docker knows no network ${dockerId.slice(0, 12)} (created before this plugin kept state? recreate it)`);
    return n;
  }

  /** The network (Docker id) a pool belongs to: set by CreateNetwork, which comes after the pool's gateway request. */
  networkOfPool(poolId: string): [string, NetworkState] | undefined {
    const cidr = poolId.replace(/^plexus\//, '');
    return Object.entries(this.data.networks).find(([, n]) => n.pools.includes(cidr));
  }

  /** Drops a network with its endpoints and reserved addresses, and saves. */
  forgetNetwork(dockerId: string): void {
    const net = this.data.networks[dockerId];
    if (!net) return;
    delete this.data.networks[dockerId];
    for (const [id, e] of Object.entries(this.data.endpoints)) if (e.network === dockerId) delete this.data.endpoints[id];
    for (const key of Object.keys(this.data.reserved)) if (key.startsWith(reservedKey(net.plexus, ''))) delete this.data.reserved[key];
    this.save();
  }
}
