/**
 * The model cache's batch of changes (model-cache.ts): whatever the watch
 * events of one event-loop turn touched, reported once after that turn as one
 * ModelChange, so a burst recompiles each network or endpoint once — in slices
 * of ENDPOINTS_PER_TURN endpoints, one per turn, so no burst holds the loop.
 */
import type { ModelChange } from './model-cache';
import type { PlacementIndex } from './placement-index';

/** Endpoints recompiled in one event-loop turn at most (the rest of a burst follows in the next turns). */
export const ENDPOINTS_PER_TURN = 512;

export class ChangeBatch {
  /** Networks whose own record or subnets changed (everything in them must be recompiled). */
  private networks = new Set<string>();
  /** Endpoints whose record or binding changed, with their network (known even after a delete). */
  private endpoints = new Map<string, string>();
  private statuses = new Set<string>();
  private routers = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly placements: PlacementIndex,
    private readonly flush: (change: ModelChange) => void,
  ) {}

  /** A network (whole) or one of its endpoints changed; `touch(undefined)` only schedules the batch. */
  touch(network: string | undefined, endpoint?: string): void {
    if (endpoint !== undefined) {
      if (network) this.endpoints.set(endpoint, network);
    } else if (network) this.networks.add(network);
    this.schedule();
  }

  /** An endpoint's binding changed in status only (no recompile). */
  status(endpointId: string): void {
    this.statuses.add(endpointId);
    this.schedule();
  }

  /** A router to recompile (the batch is scheduled by the touch that follows). */
  router(routerId: string): void {
    this.routers.add(routerId);
  }

  /** Forgets what is pending (after the initial load, which compiles everything anyway). */
  clear(): void {
    this.networks.clear();
    this.endpoints.clear();
    this.statuses.clear();
    this.routers.clear();
    this.placements.takeBatch();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const { networks, endpoints, statuses, routers } = this;
      const { portsChanged, spread } = this.placements.takeBatch();
      this.networks = new Set();
      this.endpoints = new Map();
      this.statuses = new Set();
      this.routers = new Set();
      if (endpoints.size <= ENDPOINTS_PER_TURN) {
        this.flush({ networks, endpoints, statuses, portsChanged, spread, ...(routers.size ? { routers } : {}) } satisfies ModelChange);
        return;
      }
      // A burst (20,000 attaches at once) would recompile every endpoint of it in one turn,
      // stalling the loop past lease keepalives and OVSDB/OpenFlow probes: at most
      // ENDPOINTS_PER_TURN endpoints per turn, the rest in the turns after. Each slice
      // carries the batch's port changes (recompiling a base twice is harmless); the model
      // is current, so a slice compiles what is true when it runs.
      const slices = sliceMap(endpoints, ENDPOINTS_PER_TURN);
      this.flush({ networks, endpoints: slices[0]!, statuses, portsChanged, spread, ...(routers.size ? { routers } : {}) } satisfies ModelChange);
      const rest = slices.slice(1);
      const next = (): void => {
        const slice = rest.shift();
        if (!slice) return;
        this.flush({ networks: new Set(), endpoints: slice, statuses: new Set(), portsChanged, spread } satisfies ModelChange);
        if (rest.length) setImmediate(next);
      };
      setImmediate(next);
    });
  }
}

function sliceMap<K, V>(m: ReadonlyMap<K, V>, size: number): Map<K, V>[] {
  const out: Map<K, V>[] = [];
  let cur = new Map<K, V>();
  for (const [k, v] of m) {
    cur.set(k, v);
    if (cur.size === size) {
      out.push(cur);
      cur = new Map();
    }
  }
  if (cur.size) out.push(cur);
  return out;
}
