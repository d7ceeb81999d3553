/**
 * The REST client of plexusctl, reusable by other clients of the API (the CNI
 * plugin): base URL checked up front, bearer token from a flag, PLEXUS_TOKEN
 * or a token file, HTTPS with a private CA (`--cacert`) and optional client
 * certificate, problem+json errors turned into ClientError with the server's
 * detail. Every failure carries the exit code plexusctl uses (EXIT below).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PlexusError } from '../../protocols/common/errors';

/** plexusctl's exit codes (also in `plexusctl --help` and the README). */
export const EXIT = {
  ok: 0,
  /** The server answered with an error (4xx/5xx), or --wait gave up. */
  refused: 1,
  /** Bad command line: unknown flag, missing argument, malformed URL. */
  usage: 2,
  /** The server could not be reached: connection refused, timeout, TLS failure. */
  unreachable: 3,
} as const;

export class ClientError extends PlexusError {
  override readonly name = 'ClientError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly status?: number,
    readonly problem?: Readonly<Record<string, unknown>>,
  ) {
    // Retrying can help when no answer came or the server failed (5xx), not when it refused.
    super(message, { recoverable: exitCode === EXIT.unreachable || (status ?? 0) >= 500 });
  }
  /** No answer came: connection refused, timeout, TLS failure. */
  get isUnreachable(): boolean {
    return this.exitCode === EXIT.unreachable;
  }
}

/** plexusctl's name for the same error. */
export { ClientError as CliError };

export interface ClientOptions {
  readonly url: string;
  readonly token?: string;
  /** A file holding the token (first line), e.g. the CNI config's tokenFile. */
  readonly tokenFile?: string;
  /** PEM CA file that signed the server's certificate (https). */
  readonly cacert?: string;
  /** PEM client certificate and key, when the server asks for one (--tls-ca on plexusd). */
  readonly cert?: string;
  readonly key?: string;
  readonly timeoutMs?: number;
}

/** Checks a base URL; throws a usage error that shows what was probably meant. */
export function parseBaseUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    const guess = /^[\w.-]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(text) ? ` (did you mean http://${text}?)` : '';
    throw new ClientError(`--url / PLEXUS_URL "${text}" is not an http:// or https:// URL${guess}`, EXIT.usage);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function readFileFor(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ClientError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.usage);
  }
}

export class ApiClient {
  readonly baseUrl: URL;
  private readonly token: string | undefined;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = parseBaseUrl(options.url);
    const fromFile = options.tokenFile ? readFileFor('token file', options.tokenFile).toString('utf8').split('\n')[0]!.trim() : undefined;
    this.token = options.token || fromFile || undefined;
    if (this.token && !/^[!-~]+$/.test(this.token)) throw new ClientError('the token contains spaces or non-ASCII characters', EXIT.usage);
    if ((options.cacert || options.cert) && this.baseUrl.protocol !== 'https:') {
      throw new ClientError(`--cacert/--cert need an https:// URL, not ${this.baseUrl.origin}`, EXIT.usage);
    }
    if (Boolean(options.cert) !== Boolean(options.key)) throw new ClientError('--cert and --key go together', EXIT.usage);
    this.tls = {
      ...(options.cacert ? { ca: readFileFor('--cacert', options.cacert) } : {}),
      ...(options.cert ? { cert: readFileFor('--cert', options.cert), key: readFileFor('--key', options.key!) } : {}),
    };
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** One request; resolves with the parsed JSON body (undefined for 204). */
  async call<T>(method: string, path: string, body?: unknown, extraHeaders: Readonly<Record<string, string>> = {}): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...extraHeaders };
    if (payload) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    const res = await this.send(method, url, headers, payload);
    const data: unknown = res.text ? safeJson(res.text) : undefined;
    if (res.status >= 400) {
      const p = (typeof data === 'object' && data ? data : {}) as { title?: string; detail?: string };
      throw new ClientError(`${res.status} ${p.title ?? 'error'}: ${p.detail ?? res.text}`, EXIT.refused, res.status, p);
    }
    return data as T;
  }

  /** Follows `next` cursors and returns every item. */
  async listAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.call<{ items: T[]; next?: string }>('GET', next ? `${path}${sep}next=${encodeURIComponent(next)}` : path);
      items.push(...page.items);
      next = page.next;
    } while (next);
    return items;
  }

  /**
   * Follows GET /v1/events (Server-Sent Events) until `signal` aborts or the
   * server ends the stream; `lastEventId` resumes after that event.
   */
  async *events(query: string, options: { lastEventId?: string; signal?: AbortSignal } = {}): AsyncGenerator<ServerEvent> {
    const url = new URL(`v1/events${query ? `?${query}` : ''}`, this.baseUrl);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
    const where = this.baseUrl.origin;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const opts = { method: 'GET', headers, ...(options.signal ? { signal: options.signal } : {}) };
      const req = url.protocol === 'https:' ? httpsRequest(url, { ...opts, ...this.tls }, resolve) : httpRequest(url, opts, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => reject(new ClientError(`cannot reach plexusd at ${where} (${err.code ?? err.message})`, EXIT.unreachable)));
      req.end();
    });
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const p = (safeJson(Buffer.concat(chunks).toString('utf8')) ?? {}) as { title?: string; detail?: string };
      throw new ClientError(`${res.statusCode} ${p.title ?? 'error'}: ${p.detail ?? ''}`, EXIT.refused, res.statusCode, p);
    }
    let buffer = '';
    try {
      for await (const chunk of res) {
        buffer += (chunk as Buffer).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = parseSseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (frame) yield frame;
        }
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw new ClientError(`event stream from ${where} broke: ${(err as Error).message}`, EXIT.unreachable);
    }
  }

  private send(method: string, url: URL, headers: Record<string, string>, payload: Buffer | undefined): Promise<{ status: number; text: string }> {
    const where = this.baseUrl.origin;
    return new Promise((resolve, reject) => {
      const options = { method, headers, timeout: this.timeoutMs };
      const onResponse = (res: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(new ClientError(`connection to plexusd at ${where} broke: ${err.message}`, EXIT.unreachable)));
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...this.tls }, onResponse) : httpRequest(url, options, onResponse);
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const why = err.code ? `${err.code}${err.code.startsWith('E') ? '' : `: ${err.message}`}` : err.message;
        reject(new ClientError(`cannot reach plexusd at ${where} (${why}); check --url / PLEXUS_URL${url.protocol === 'https:' ? ' and --cacert' : ''}`, EXIT.unreachable));
      });
      req.end(payload);
    });
  }
}

/** One Server-Sent Event; `data` parsed as JSON. */
export interface ServerEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: unknown;
}

/** A frame's `id:`, `event:` and `data:` lines; undefined for a comment-only frame. */
export function parseSseFrame(frame: string): ServerEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length && event === 'message') return undefined;
  return { ...(id !== undefined ? { id } : {}), event, data: safeJson(data.join('\n')) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
