/**
 * The locks one session asked for (RFC 7047 §4.1.8) and whether the server
 * granted them: set by `lock`/`steal` replies and the `locked`/`stolen`
 * notifications (§4.1.9, §4.1.10), all lost with the connection and
 * re-requested by the session after it reconnects.
 */
import { OvsdbFormatError } from './errors';
import { isId } from './rfc7047';
import type { OvsdbRpc } from './rpc';

export class SessionLocks {
  private readonly held = new Map<string, boolean>();

  get size(): number {
    return this.held.size;
  }

  names(): string[] {
    return [...this.held.keys()];
  }

  /** Records that the session wants `name` (held once the server says so). */
  want(name: string): void {
    checkLockName(name);
    if (!this.held.has(name)) this.held.set(name, false);
  }

  forget(name: string): void {
    this.held.delete(name);
  }

  isHeld(name: string): boolean {
    return this.held.get(name) ?? false;
  }

  /** The connection is gone, and every lock with it. */
  dropAll(): void {
    for (const name of this.held.keys()) this.held.set(name, false);
  }

  /** A `locked` or `stolen` notification: records it and returns the lock's name. */
  applyNotification(method: 'locked' | 'stolen', params: readonly unknown[]): string {
    const lock = params[0];
    if (typeof lock !== 'string') {
      throw new OvsdbFormatError(`RFC 7047 §4.1.${method === 'locked' ? 9 : 10}`, `"params" of ${method} must be [<id>]`);
    }
    if (this.held.has(lock)) this.held.set(lock, method === 'locked');
    return lock;
  }

  /** Sends `lock` or `steal`; resolves whether the lock is ours now. */
  async request(rpc: OvsdbRpc, method: 'lock' | 'steal', name: string): Promise<boolean> {
    checkLockName(name);
    const result = (await rpc.request(method, [name])) as { locked?: unknown } | null;
    if (result === null || typeof result !== 'object' || typeof result.locked !== 'boolean') {
      throw new OvsdbFormatError('RFC 7047 §4.1.8', `${method} result must be {"locked": <boolean>}`);
    }
    if (this.held.has(name) && result.locked) this.held.set(name, true);
    return result.locked;
  }
}

/** §4.1.8: a lock name is an <id> (letters, digits, underscores; no leading digit). */
function checkLockName(name: string): void {
  if (!isId(name)) throw new OvsdbFormatError('RFC 7047 §4.1.8', `lock name "${name}" is not an <id>`);
}
