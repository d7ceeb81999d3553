/**
 * Talking to a real plexusd from tests: its REST API (`send`, `problem` for RFC 7807
 * answers) and the `plexusctl` CLI run from the sources, as a user would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `plexusctl --url <url> ...args` (through tsx, no PLEXUS_URL/PLEXUS_TOKEN from the environment). */
export function runPlexusctl(url: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), join(ROOT, 'src', 'cli', 'plexusctl.ts'), '--url', url, ...args],
      { cwd: ROOT, env: { ...process.env, PLEXUS_URL: '', PLEXUS_TOKEN: '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  type: string;
}
export type ApiDoc = Record<string, unknown> & { detail?: string; reason?: string };

/** `send` (JSON in and out) and `problem` (asserts a problem+json answer) against the plexusd at `baseUrl()`. */
export function apiHelpers(baseUrl: () => string): {
  send: <T = ApiDoc>(method: string, path: string, body?: unknown) => Promise<ApiResponse<T>>;
  problem: (method: string, path: string, body: unknown, status: number, detail: RegExp, reason?: string) => Promise<void>;
} {
  async function send<T = ApiDoc>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await fetch(`${baseUrl()}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, type: res.headers.get('content-type') ?? '' };
  }
  async function problem(method: string, path: string, body: unknown, status: number, detail: RegExp, reason?: string): Promise<void> {
    const r = await send(method, path, body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.type, /^application\/problem\+json/);
    assert.match(String(r.body.detail), detail);
    if (reason) assert.equal(r.body.reason, reason);
  }
  return { send, problem };
}
