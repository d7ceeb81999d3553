/**
 * The web view's side of the REST API: calls that carry the bearer token the
 * user entered (kept in sessionStorage, never in the page or a cookie), list
 * pagination, and the `/v1/events` stream read with fetch() so the token can be
 * sent (EventSource cannot set headers), resumed with Last-Event-ID after a drop.
 */

import { PlexusError } from '../../protocols/common/errors';

const TOKEN_KEY = 'plexus-token';
/** Reconnect delays grow from the server's `retry` up to this, with jitter; a success starts over. */
const MAX_RETRY_MS = 30_000;

/** The API refused a call: its HTTP status and the problem's detail. 5xx and 429 may pass on a retry. */
export class ApiCallError extends PlexusError {
  override readonly name = 'ApiCallError';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail, { recoverable: status >= 500 || status === 429 });
  }
}

export function readToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headersOf(extra: Record<string, string> = {}): Record<string, string> {
  const token = readToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

export async function callApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headersOf(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiCallError(res.status, (parsed as { detail?: string } | undefined)?.detail ?? `${method} ${path}: HTTP ${res.status}`);
  return parsed as T;
}

/** Every item of a paginated list. */
export async function listAll<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await callApi<{ items: T[]; next?: string }>('GET', `${path}?limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`);
    items.push(...page.items);
    next = page.next;
  } while (next);
  return items;
}

export interface StreamEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: unknown;
}

export type StreamState = 'connecting' | 'live' | 'retrying' | 'unauthorized';

/** One SSE frame (the lines between blank lines) to an event; comment-only frames give undefined. */
function parseFrame(frame: string): { event?: StreamEvent; retryMs?: number } {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  let retryMs: number | undefined;
  for (const line of frame.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  }
  if (data.length === 0) return retryMs !== undefined ? { retryMs } : {};
  const text = data.join('\n');
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* plain text data */
  }
  return { event: { ...(id !== undefined ? { id } : {}), event, data: parsed }, ...(retryMs !== undefined ? { retryMs } : {}) };
}

/**
 * Follows /v1/events until `signal` aborts: every event to `onEvent`, the
 * connection's state to `onState` (with the id it resumed after, once
 * reconnected). After a drop it waits (the server's `retry`, doubling while it
 * fails, with jitter) and resumes from the last id it saw: the server replays
 * what was missed, or sends `reset`.
 */
export async function followEvents(onEvent: (e: StreamEvent) => void, onState: (s: StreamState, resumedFrom?: string) => void, signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  let retryMs = 2000;
  let failures = 0;
  while (!signal.aborted) {
    onState('connecting');
    try {
      const res = await fetch('/v1/events', { headers: headersOf({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }), signal });
      if (res.status === 401 || res.status === 403) {
        onState('unauthorized');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('live', lastId);
      failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const parsed = parseFrame(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
          if (parsed.retryMs !== undefined) retryMs = parsed.retryMs;
          if (!parsed.event) continue;
          if (parsed.event.id !== undefined) lastId = parsed.event.id;
          onEvent(parsed.event);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    onState('retrying');
    const delayMs = Math.min(MAX_RETRY_MS, retryMs * 2 ** failures++) * (0.75 + Math.random() / 2);
    await new Promise((r) => setTimeout(r, delayMs));
  }
}
