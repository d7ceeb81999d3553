/**
 * The model cache's batch of changes (model-cache.ts): whatever the watch
 * events of one event-loop turn touched, reported once after that turn as one
 * ModelChange, so a burst recompiles each network or endpoint once.
 */
import type { ModelChange } from './model-cache';
import type { PlacementIndex } from './placement-index';

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
      this.flush({ networks, endpoints, statuses, portsChanged, spread, ...(routers.size ? { routers } : {}) } satisfies ModelChange);
    });
  }
}
