/**
 * The event loop's own lateness, as the member's lease watchdog sees it
 * (membership.ts): a member too busy to read its keepalive replies in time is
 * told apart from one whose etcd stopped answering.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log';

/** Event-loop stall (over the last TTL) beyond which a late keepalive is checked with etcd before the lease is given up. */
export const STALL_MS = 1000;

/**
 * How late the watchdog's own ticks run: the event loop's stalls, kept for
 * one TTL and logged when one exceeds a second (a member that misses its
 * keepalives because it is busy says so).
 */
export class LoopLag {
  private last = performance.now();
  private readonly stalls: { atMs: number; ms: number }[] = [];

  constructor(private readonly periodMs: number) {}

  /** Records this tick; returns how late it ran. */
  tick(log: Logger): number {
    const now = performance.now();
    const lateMs = Math.max(0, now - this.last - this.periodMs);
    this.last = now;
    if (lateMs > this.periodMs) this.stalls.push({ atMs: now, ms: lateMs });
    if (lateMs > STALL_MS) log.warn('event loop stalled', { stalledMs: Math.round(lateMs) });
    return lateMs;
  }

  /** Total stall over the last `windowMs`. */
  recentMs(windowMs: number): number {
    const since = performance.now() - windowMs;
    while (this.stalls.length && this.stalls[0]!.atMs < since) this.stalls.shift();
    return this.stalls.reduce((sum, s) => sum + s.ms, 0);
  }
}

/** A timer this late (ms) ran after a stall of this event loop. */
const LATE_TIMER_MS = 250;

/**
 * `p`, or a rejection once `ms` passed without it. Timers run before sockets
 * are read: when this loop was stalled past the deadline, the answer may be
 * waiting unread, so a late timer gives the loop one turn to read before it
 * rejects (a busy member asking etcd whether its lease lives must not give the
 * lease up for an answer it had received).
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = performance.now() + ms;
  const expired = new Promise<never>((_, reject) => {
    let isSecondLook = false;
    const expire = (): void => {
      if (!isSecondLook && performance.now() - deadline > LATE_TIMER_MS) {
        isSecondLook = true;
        timer = setTimeout(expire, 1);
        return;
      }
      reject(new Error(`no answer within ${ms} ms`));
    };
    timer = setTimeout(expire, ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
