/**
 * The Docker plugin protocol transport (libnetwork remote driver, plugin API
 * v1): HTTP POSTs with JSON bodies on a unix socket. An unknown method is 404
 * (libnetwork then treats it as not implemented), a body that is not JSON is
 * 400, and a request the driver cannot carry out is 200 with `{"Err": "..."}`
 * (network driver) or `{"Error": "..."}` (IPAM driver: libnetwork's IPAM
 * response type names the field so).
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '../../log';
import type { PlexusDockerDriver } from './driver';

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
const MAX_BODY_BYTES = 1 << 20;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': CONTENT_TYPE });
  res.end(JSON.stringify(body));
}

export async function servePlugin(driver: PlexusDockerDriver, socketPath: string, log: Logger = silentLogger()): Promise<Server> {
  const l = log.child({ module: 'plexus-docker' });
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const handler = driver.handlers[path];
      if (req.method !== 'POST' || !handler) {
        send(res, 404, { Err: `plexus-docker does not implement ${req.method} ${path}` });
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown>;
      try {
        body = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        send(res, 400, { Err: `${path}: body is not JSON` });
        return;
      }
      const t0 = Date.now();
      handler(body).then(
        (out) => {
          l.debug('plugin call', { path, ms: Date.now() - t0, request: body, response: out });
          send(res, 200, out);
        },
        (err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          l.warn('plugin call failed', { path, ms: Date.now() - t0, error: msg });
          send(res, 200, path.startsWith('/IpamDriver.') ? { Error: msg } : { Err: msg });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  return server;
}
