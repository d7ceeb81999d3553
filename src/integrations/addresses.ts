/** Address arithmetic the integrations need, from the one address library IPAM uses. */
import { cidrContains, defaultGateway } from '../store/ipam';

/** Whether `ip` lies in `cidr`; false for a malformed value or a family mismatch. */
export function containsIp(cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip);
  } catch {
    return false;
  }
}

/** The gateway Plexus picks by default for `cidr` (its first host address). */
export function firstHost(cidr: string): string {
  const gateway = defaultGateway(cidr);
  if (gateway === null) throw new RangeError(`${cidr} has room for one host only, no gateway`);
  return gateway;
}
