/**
 * A cap on the connections one peer address may hold open on one listener
 * (SPEC §11 `--max-connections-per-address`), so that a single host cannot
 * exhaust the controller by opening connections. Loopback is not exempt: a
 * test fleet of simulated hosts on 127.0.0.1 needs a cap above its size.
 */

/** Default: above a fleet of 1,000 simulated hosts on one address, with room for reconnects. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 2048;

export interface AddressLimit {
  readonly maxPerAddress: number;
  /**
   * Counts a new connection from `address`; returns the function that releases
   * it (call it once, when the connection closes), or undefined when `address`
   * already holds `maxPerAddress` connections.
   */
  acquire(address: string | undefined): (() => void) | undefined;
  /** Connections open from `address`. */
  countOf(address: string): number;
}

/** A per-address connection counter; connections without an address (unix sockets) are not counted. */
export function createAddressLimit(maxPerAddress: number = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS): AddressLimit {
  const open = new Map<string, number>();
  return {
    maxPerAddress,
    acquire(address) {
      if (address === undefined) return () => undefined;
      const n = open.get(address) ?? 0;
      if (n >= maxPerAddress) return undefined;
      open.set(address, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      };
    },
    countOf: (address) => open.get(address) ?? 0,
  };
}
