/**
 * The one retry delay of Plexus: a list of delays, the last repeating, plus
 * random jitter so that many retriers (hosts, members, endpoints) do not all
 * come back in the same millisecond; reset on success. Every retry loop (OVSDB
 * reconnects, binding writes, host passes, flow programming, member
 * registration, heartbeats) takes its policy as an injected `BackoffPolicy`,
 * so tests can make it fast and deterministic.
 *
 *   attempt   1     2     3     4    ...  n ≥ len
 *   delay     d[0]  d[1]  d[2]  d[3] ...  d[len-1]      (+ up to jitterRatio × delay)
 */

export interface BackoffPolicy {
  /** Delays for attempts 1, 2, ...; the last repeats (default {@link DEFAULT_DELAYS_MS}). */
  readonly delaysMs?: readonly number[];
  /** Up to this fraction of each delay is added at random (default 0.2). */
  readonly jitterRatio?: number;
  /** Randomness in [0, 1), injected by tests (default Math.random). */
  readonly random?: () => number;
}

/** Reconnect-style default: quick first retries, then at most every 8 s. */
export const DEFAULT_DELAYS_MS: readonly number[] = [100, 250, 500, 1000, 2000, 4000, 8000];

/** Delay before attempt `attempt` (1-based) under `policy`: list entry plus jitter. Pure but for `random`. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = {}): number {
  const delays = policy.delaysMs && policy.delaysMs.length > 0 ? policy.delaysMs : DEFAULT_DELAYS_MS;
  const base = delays[Math.min(Math.max(attempt, 1), delays.length) - 1]!;
  const jitter = base * (policy.jitterRatio ?? 0.2) * (policy.random ?? Math.random)();
  return Math.round(base + jitter);
}

/**
 * The failure count of one retrier (one session, one endpoint's binding, one
 * host): `nextDelayMs()` counts a failure and says how long to wait; `reset()`
 * after a success starts the list over.
 */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy = {}) {}

  /** Failures since the last success. */
  get attempt(): number {
    return this.failures;
  }

  nextDelayMs(): number {
    this.failures += 1;
    return backoffDelayMs(this.failures, this.policy);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Resolves after `ms` (a timer that does not keep the process alive). */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
