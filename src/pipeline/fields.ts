/**
 * Register layout of the pipeline: every register Plexus uses is named here
 * once, with every value it can hold.
 *
 *   reg0  NETWORK   VNI of the packet's network (24 bits), set in classify
 *   reg1  FLAGS     bit 0 FROM_TUNNEL: the packet arrived over a VXLAN tunnel
 *   reg2  OUT_PORT  OpenFlow port the packet is delivered to locally, set in L2
 */
export const REG = {
  NETWORK: 'reg0',
  FLAGS: 'reg1',
  OUT_PORT: 'reg2',
} as const;

/** Bits of REG.FLAGS. */
export const FLAG = {
  FROM_TUNNEL: 0x1,
} as const;

export const ETH_TYPE = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const IP_PROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;
export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
export const ICMPV6_TYPE = { NEIGHBOR_SOLICIT: 135, NEIGHBOR_ADVERT: 136 } as const;
export const DHCP_PORT = { SERVER: 67, CLIENT: 68 } as const;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
/** The group bit of the first octet: multicast and broadcast destinations. */
export const MULTICAST_BIT = { value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' } as const;
