/**
 * The etcd client plexusd uses: TLS toward an external etcd when configured
 * (SPEC §11 --etcd-cacert/--etcd-cert/--etcd-key), a deadline on unary calls,
 * and a latency histogram of every request (SPEC §8) fed by the retry policy
 * that wraps each call (etcd3's default policy: three attempts on recoverable
 * errors — the same, observed).
 */
import { handleWhen, retry } from 'cockatiel';
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
    faultHandling: { global: policy },
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
