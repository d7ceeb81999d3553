/**
 * Start-up against an etcd that may not be there yet (SPEC §11): the first
 * request is retried with a jittered backoff, every failure logged with its
 * reason, until etcd answers or the daemon is asked to stop. Under systemd this
 * replaces a crash loop that would end in "start request repeated too quickly".
 */
import type { Etcd3 } from 'etcd3';
import { PlexusError } from '../../protocols/common/errors';
import type { Logger } from '../log';
import { sleep } from '../os/processes';

/** Delays between attempts; the last one repeats. */
export const ETCD_START_BACKOFF_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000];

export class StartAbortedError extends PlexusError {
  override readonly name = 'StartAbortedError';
}

export interface WaitOptions {
  readonly backoffMs?: readonly number[];
  /** 0..1: each delay is drawn from delay × (1 ± jitter), so members restarted together do not retry in step. */
  readonly jitter?: number;
  readonly random?: () => number;
  readonly signal?: AbortSignal;
}

/** Resolves once `probe` succeeds; rejects only with StartAbortedError when `signal` aborts. */
export async function waitForEtcd(probe: () => Promise<unknown>, endpoints: readonly string[], log: Logger, options: WaitOptions = {}): Promise<void> {
  const backoff = options.backoffMs ?? ETCD_START_BACKOFF_MS;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new StartAbortedError('stopped while waiting for etcd');
    try {
      await probe();
      if (attempt > 1) log.info('etcd reachable', { attempts: attempt });
      return;
    } catch (err) {
      const base = backoff[Math.min(attempt - 1, backoff.length - 1)]!;
      const delayMs = Math.round(base * (1 + jitter * (2 * random() - 1)));
      log.warn('etcd not reachable, retrying', { endpoints, attempt, retryInMs: delayMs, error: (err as Error).message });
      await sleepUnlessAborted(delayMs, options.signal);
    }
  }
}

/** The probe plexusd uses: one read of a key under its prefix. */
export function probeEtcd(client: Etcd3, prefix: string): () => Promise<unknown> {
  return () => client.get(prefix + 'ready-probe').exec();
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(ms);
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal!.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
