/**
 * The host passes waiting to run (host-manager.ts), taken in fairly across
 * hosts and a bounded amount per event-loop turn. A pass starts with a whole
 * synchronous stretch (the host's rows converted, planned, the view handed to
 * the overlay); when a burst brings updates from a thousand hosts at once,
 * running each pass inside the socket read that brought it held the loop for
 * seconds, and keepalives, probes and etcd replies waited behind (issue 17).
 *
 * A host is queued once however many updates it gets meanwhile (its next pass
 * reads its current rows), in the order it became dirty; a turn starts at most
 * `maxPerTurn` passes or stops once `budgetMs` is spent, then yields to I/O
 * (setImmediate) before the next.
 */
import { performance } from 'node:perf_hooks';

export interface PassQueueOptions {
  /** Passes started in one event-loop turn, at most (default 32). */
  readonly maxPerTurn?: number;
  /** Time one turn may spend starting passes before it yields (default 10 ms). */
  readonly budgetMs?: number;
  /** Clock for the budget (tests). */
  readonly nowMs?: () => number;
}

export class PassQueue<T> {
  private readonly waiting = new Set<T>();
  private isScheduled = false;
  private isStopped = false;
  private readonly maxPerTurn: number;
  private readonly budgetMs: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly start: (item: T) => void,
    options: PassQueueOptions = {},
  ) {
    this.maxPerTurn = Math.max(1, options.maxPerTurn ?? 32);
    this.budgetMs = options.budgetMs ?? 10;
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Queues `item` behind those already waiting, unless it is waiting already. */
  add(item: T): void {
    if (this.isStopped || this.waiting.has(item)) return;
    this.waiting.add(item);
    this.scheduleTurn();
  }

  /** Takes `item` out of the queue (its session closed). */
  delete(item: T): void {
    this.waiting.delete(item);
  }

  get size(): number {
    return this.waiting.size;
  }

  stop(): void {
    this.isStopped = true;
    this.waiting.clear();
  }

  private scheduleTurn(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => this.runTurn());
  }

  /** One turn: the oldest waiting items (a Set iterates in insertion order), within the count and time bounds. */
  private runTurn(): void {
    this.isScheduled = false;
    if (this.isStopped) return;
    const startedMs = this.nowMs();
    let started = 0;
    for (const item of this.waiting) {
      if (started >= this.maxPerTurn || this.nowMs() - startedMs >= this.budgetMs) break;
      this.waiting.delete(item);
      started++;
      this.start(item);
    }
    if (this.waiting.size > 0) this.scheduleTurn();
  }
}
