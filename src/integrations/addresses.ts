/** Address arithmetic the integrations need (CIDR membership, default gateway), with ip-num. */
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

/** Whether `ip` lies in `cidr`; false for a malformed value or a family mismatch. */
export function containsIp(cidr: string, ip: string): boolean {
  try {
    if (cidr.includes(':') !== ip.includes(':')) return false;
    return ip.includes(':') ? IPv6CidrRange.fromCidr(cidr).contains(IPv6.fromString(ip)) : IPv4CidrRange.fromCidr(cidr).contains(IPv4.fromString(ip));
  } catch {
    return false;
  }
}

/** The first host address of a CIDR (the gateway Docker and Plexus pick by default). */
export function firstHost(cidr: string): string {
  if (!cidr.includes(':')) return IPv4CidrRange.fromCidr(cidr).getFirst().nextIPNumber().toString();
  // The URL serializer writes the canonical compressed form (RFC 5952).
  return new URL(`http://[${IPv6CidrRange.fromCidr(cidr).getFirst().nextIPNumber().toString()}]`).hostname.slice(1, -1);
}
