/**
 * Deferred flooding lists. A network's base partition on a host floods to
 * every other host the network is on (compiler/l2.ts compileL2Flooding): one
 * flow whose actions grow with the network's hosts. When a host joins or
 * leaves a network spread over many hosts, rebuilding that flow on every host
 * at once costs hosts² per join — at 1,000 hosts, a million tunnel actions
 * compiled, encoded and sent for each of the first thousand attaches. So on
 * such networks the hosts that did not change themselves get their flooding
 * list refreshed once per window (coalescing every join in it), while the
 * joining host, unicast flows (an endpoint's own partition) and the
 * classification of the new host's tunnel traffic stay immediate. Only
 * broadcast and unknown-unicast toward the newcomer waits, at most one
 * window; ARP and DHCP are answered on each host (compiler/arp.ts, dhcp.ts).
 * Networks on fewer than DEFER_FROM_HOSTS hosts are rebuilt at once, as before.
 */

/** Networks on at least this many hosts defer the other hosts' flooding lists. */
export const DEFER_FROM_HOSTS = 64;
/** Shortest window; a refresh that took T ms keeps the next one at least 4·T away (≤ 20 % of the loop). */
const MIN_WINDOW_MS = 250;
const MAX_WINDOW_MS = 5000;

export class FloodRefresh {
  /** Per network: hosts whose flooding list is behind. */
  private readonly stale = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private windowMs = MIN_WINDOW_MS;

  /** `refresh(network, hosts)` rebuilds the base partition of `network` on those hosts (those it is still present on). */
  constructor(private readonly refresh: (network: string, hosts: ReadonlySet<string>) => void) {}

  /** The flooding list of `network` on `hostId` is behind: rebuilt within a window. */
  defer(network: string, hostId: string): void {
    let hosts = this.stale.get(network);
    if (!hosts) this.stale.set(network, (hosts = new Set()));
    hosts.add(hostId);
    if (this.timer) return;
    this.timer = setTimeout(() => this.run(), this.windowMs);
    this.timer.unref();
  }

  /** `network`'s base was just rebuilt on `hostId` (any other reason): nothing is behind there. */
  done(network: string, hostId: string): void {
    const hosts = this.stale.get(network);
    if (!hosts?.delete(hostId)) return;
    if (hosts.size === 0) this.stale.delete(network);
  }

  /** Whether `network`'s flooding list on `hostId` waits for a refresh (tests, drill-down). */
  isBehind(network: string, hostId: string): boolean {
    return this.stale.get(network)?.has(hostId) ?? false;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stale.clear();
  }

  private run(): void {
    this.timer = undefined;
    const t0 = performance.now();
    const batch = [...this.stale];
    this.stale.clear();
    for (const [network, hosts] of batch) this.refresh(network, hosts);
    const tookMs = performance.now() - t0;
    this.windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, 4 * tookMs));
    if (this.stale.size && !this.timer) {
      this.timer = setTimeout(() => this.run(), this.windowMs);
      this.timer.unref();
    }
  }
}
