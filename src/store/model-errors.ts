/**
 * Why a model write was refused (SPEC §3, §6). The REST layer maps each class
 * to one HTTP status in a single table (api/problems.ts); the store itself knows
 * nothing of HTTP. A compare-on-revision that fails against an If-Match revision
 * is collection.ts's ConflictError (412).
 */
import { PlexusError } from '../../protocols/common/errors';

/** A request that can never succeed as written (a field out of range, two addresses in one subnet). */
export class InvalidRequestError extends PlexusError {
  override readonly name = 'InvalidRequestError';
}

/** The named resource (or the one it refers to) does not exist. */
export class ResourceNotFoundError extends PlexusError {
  override readonly name = 'ResourceNotFoundError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} "${id}" does not exist`);
  }
}

/**
 * What the request asks for collides with what exists:
 *   duplicate   an id, name, MAC or address is already taken
 *   in-use      the resource still has dependants (endpoints, allocated addresses, networks)
 *   overlap     a subnet's CIDR overlaps another subnet of its network
 *   outside     an address is in none of the network's subnets
 *   reserved    an address is a gateway, network, broadcast or anycast address
 *   ambiguous   a name matches networks in several tenants
 *   exhausted   no VNI or address left to allocate
 *   tenant      the resources belong to different tenants (a router and a subnet's network)
 */
export type ConflictReason = 'duplicate' | 'in-use' | 'overlap' | 'outside' | 'reserved' | 'ambiguous' | 'exhausted' | 'tenant';

export class ResourceConflictError extends PlexusError {
  override readonly name: string = 'ResourceConflictError';
  constructor(
    readonly reason: ConflictReason,
    message: string,
    /** Machine-readable details for the problem document (e.g. the other subnet's id). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
