/** Address helpers the compiler needs (pure), on the one address library. */
import { formatIpv6, ipVersionOf, parseMac } from '../../protocols/packet/address';

export const ipv4Of = (ips: readonly string[]): string[] => ips.filter((ip) => ipVersionOf(ip) === 4);
export const ipv6Of = (ips: readonly string[]): string[] => ips.filter((ip) => ipVersionOf(ip) === 6);

/** The IPv6 link-local address a host derives from its MAC (RFC 4291 App. A, modified EUI-64). */
export function linkLocalOf(mac: string): string {
  const b = parseMac(mac);
  return formatIpv6(Buffer.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!]));
}
