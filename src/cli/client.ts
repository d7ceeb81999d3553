/** A small REST client for plexusctl: problem+json errors become CliError with the server's detail. */
import { PlexusError } from '../../protocols/common/errors';

export class CliError extends PlexusError {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, extraHeaders: Readonly<Record<string, string>> = {}): Promise<T> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/');
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`cannot reach plexusd at ${this.baseUrl} (${cause}); set PLEXUS_URL or --url`);
    }
    const text = await res.text();
    const data: unknown = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const p = data as { title?: string; detail?: string } | undefined;
      throw new CliError(`${res.status} ${p?.title ?? res.statusText}: ${p?.detail ?? text}`, res.status);
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
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
