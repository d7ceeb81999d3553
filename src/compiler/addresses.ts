/** Address helpers the compiler needs (pure). */
import { isIPv4, isIPv6 } from 'node:net';

export const ipv4Of = (ips: readonly string[]): string[] => ips.filter((ip) => isIPv4(ip));
export const ipv6Of = (ips: readonly string[]): string[] => ips.filter((ip) => isIPv6(ip));

/** The IPv6 link-local address a host derives from its MAC (RFC 4291 App. A, modified EUI-64). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const eui = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups = [0, 2, 4, 6].map((i) => ((eui[i]! << 8) | eui[i + 1]!).toString(16));
  return `fe80::${groups.join(':')}`;
}
