/**
 * What plexus-docker reads from libnetwork's remote-driver requests (plugin API
 * v1 bodies are loose JSON), the driver options it understands, and the names it
 * gives the Plexus and Docker networks it creates.
 */
import { PlexusError } from '../../../protocols/common/errors';
import { ClientError } from '../plexus-api';

/** Driver options (`-o`) and endpoint driver options (`--driver-opt`) plexus-docker reads. */
export const OPTION = {
  network: 'plexus.network',
  securityGroups: 'plexus.security-groups',
  qosPolicy: 'plexus.qos-policy',
} as const;
/** libnetwork puts `-o` options of a network under this key of its options. */
const GENERIC = 'com.docker.network.generic';
/** `RequestAddressType` of the gateway address libnetwork asks IPAM for while creating a network. */
export const GATEWAY_REQUEST = 'com.docker.network.gateway';
/** The name plexus-docker gives a Plexus network until it learns the Docker name. */
export const PROVISIONAL = /^docker-[0-9a-f]{12}$/;
/** Label of the Docker networks plexus-docker created itself as mirrors. */
export const MIRROR_LABEL = 'plexus.mirror';

/** The Plexus network id plexus-docker gives the network it creates for a Docker network. */
export function plexusNetworkIdFor(dockerId: string): string {
  return `docker-${dockerId}`;
}

/** libnetwork data scope (SPEC §7): `auto` is global exactly when dockerd has a cluster store. */
export type DataScope = 'local' | 'global';

export type Body = Record<string, unknown>;
export type Handler = (body: Body) => Promise<Body>;

/** A request libnetwork sent that the driver cannot carry out: its message goes back as `Err`. */
export class DriverError extends PlexusError {
  override readonly name = 'DriverError';
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** `web, ssh` → `['web', 'ssh']`. */
export const listOpt = (v: unknown): string[] => str(v).split(',').map((s) => s.trim()).filter(Boolean);

/** A request's options with the `-o` ones (under {@link GENERIC}) lifted to the top. */
export function genericOptions(options: unknown): Record<string, unknown> {
  const o = (options ?? {}) as Record<string, unknown>;
  return { ...o, ...((o[GENERIC] as Record<string, unknown> | undefined) ?? {}) };
}

/** Runs a Plexus call; its failure becomes a DriverError saying what was being done. */
export async function plexusCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ClientError) throw new DriverError(`plexus: cannot ${what}: ${err.message}`, { cause: err, recoverable: err.recoverable });
    throw err;
  }
}
