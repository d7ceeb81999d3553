/**
 * The few Docker Engine API calls plexus-docker makes on its own host's dockerd
 * (over its unix socket): whether it has a cluster store, read a network's name
 * and options once Docker has stored it, and create/remove the Docker networks
 * that mirror Plexus networks.
 */
import { request } from 'node:http';
import { PlexusError } from '../../../protocols/common/errors';

export class DockerEngineError extends PlexusError {
  override readonly name = 'DockerEngineError';
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message, { recoverable: status === undefined || status >= 500 });
  }
}

export interface DockerNetwork {
  readonly Id: string;
  readonly Name: string;
  readonly Driver: string;
  readonly Options?: Readonly<Record<string, string>>;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly Scope?: string;
  readonly IPAM?: { readonly Driver?: string; readonly Config?: readonly { readonly Subnet?: string; readonly Gateway?: string }[] | null };
}

/** The part of `GET /info` plexus-docker reads. */
export interface DockerInfo {
  /** `etcd://...` when dockerd runs with `--cluster-store` (Docker ≤ 20.10); empty otherwise. */
  readonly ClusterStore?: string;
}

/** The calls of {@link DockerEngine} plexus-docker makes (a test gives a fake dockerd). */
export type DockerApi = Pick<DockerEngine, 'info' | 'inspectNetwork' | 'listNetworks' | 'createNetwork' | 'removeNetwork'>;

/** API version every supported dockerd (20.10 and later) speaks. */
const API = '/v1.41';

export class DockerEngine {
  /** `host`: `unix:///var/run/docker.sock` or a socket path. */
  constructor(host: string, private readonly timeoutMs = 30_000) {
    this.socketPath = host.replace(/^unix:\/\//, '');
  }
  private readonly socketPath: string;

  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath: this.socketPath,
        path: `${API}${path}`,
        method,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
        timeout: this.timeoutMs,
      }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            let msg = text;
            try {
              msg = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              /* plain text */
            }
            reject(new DockerEngineError(`dockerd ${method} ${path}: ${status} ${msg.trim()}`, status));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch {
            resolve(text as unknown as T);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new DockerEngineError(`dockerd at ${this.socketPath} unreachable: ${err.message}`, undefined)));
      req.end(data);
    });
  }

  info(): Promise<DockerInfo> {
    return this.call('GET', '/info');
  }
  inspectNetwork(id: string): Promise<DockerNetwork> {
    return this.call('GET', `/networks/${encodeURIComponent(id)}`);
  }
  /** Every network, or those of one driver. */
  listNetworks(driver?: string): Promise<DockerNetwork[]> {
    return this.call('GET', driver ? `/networks?filters=${encodeURIComponent(JSON.stringify({ driver: [driver] }))}` : '/networks');
  }
  createNetwork(body: Record<string, unknown>): Promise<{ Id: string }> {
    return this.call('POST', '/networks/create', body);
  }
  removeNetwork(id: string): Promise<void> {
    return this.call('DELETE', `/networks/${encodeURIComponent(id)}`);
  }
}
