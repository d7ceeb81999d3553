/**
 * The etcd client plexusd uses: TLS toward an external etcd when configured
 * (SPEC §11 --etcd-cacert/--etcd-cert/--etcd-key), a deadline on unary calls,
 * and a latency histogram of every request (SPEC §8) fed by the retry policy
 * that wraps each call (etcd3's default policy: three attempts on recoverable
 * errors — the same, observed).
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { Histogram } from 'prom-client';
import type { Config } from '../config';

/** Longest a single etcd request may take before the caller gets a (recoverable) error. */
export const ETCD_CALL_DEADLINE_MS = 2500;

export function createEtcdClient(endpoints: readonly string[], tls: Config['etcdTls']): { client: Etcd3; requestSeconds: Histogram<'result'> } {
  const requestSeconds = new Histogram({
    name: 'plexus_etcd_request_duration_seconds',
    help: 'Duration of etcd requests (unary calls, retries included), by result',
    labelNames: ['result'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  });
  const policy = retry(handleWhen(isRecoverableError), { maxAttempts: 3 });
  policy.onSuccess(({ duration }) => requestSeconds.observe({ result: 'ok' }, duration / 1000));
  policy.onFailure(({ duration }) => requestSeconds.observe({ result: 'error' }, duration / 1000));
  const client = new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    // Unary calls get a deadline so that with etcd gone the API answers 503 in seconds, not hangs;
    // streams (watches, lease keepalives) stay open and resume on their own.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }),
    // After an outage etcd must be used again within ~1 s (masters come back from that): a host's
    // breaker half-opens after 0.5 s (etcd3's default: 5 s) and a broken watch stream is reopened
    // within 0.5 s (default: up to 30 s), else watches stay blind for seconds after etcd returns.
    faultHandling: {
      global: policy,
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 500 }).next(),
    },
    ...(tls
      ? {
          credentials: {
            rootCertificate: tls.ca as Buffer,
            ...(tls.key ? { privateKey: tls.key } : {}),
            ...(tls.cert ? { certChain: tls.cert } : {}),
          },
        }
      : {}),
  });
  return { client, requestSeconds };
}
