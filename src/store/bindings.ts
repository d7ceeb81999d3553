/**
 * Writes where endpoints are attached (the observed half of the model, kept
 * apart from the API's Endpoint records). Every write is compare-on-revision
 * and re-reads on conflict, and a host may only take down a binding that is
 * still its own: a VM that migrated to another host is never marked down by the
 * late removal of its old interface.
 *
 * A binding is not taken from a host that still holds it (SPEC §2): while the
 * endpoint is bound there and that host's OVSDB is connected, another host's
 * interface with the same iface-id is refused (`AttachmentTakenError`). The
 * decision is made against etcd — the binding at the revision compared on, and
 * the holder's host record — so two members mastering the two claimants agree.
 * The holder lets go by marking the endpoint down (its interface removed or
 * `iface-status=inactive`) or by disconnecting.
 */
import { PlexusError } from '../../protocols/common/errors';
import { Collection, ConflictError } from './collection';
import type { Binding, EndpointStatus, HostRecord } from './model';

const HISTORY = 20;
const MAX_ATTEMPTS = 8;

export interface BindRequest {
  readonly endpoint: string;
  readonly host: string;
  readonly ofport: number;
  readonly ifaceName: string;
}

/** Another connected host holds the endpoint's binding: this host's interface does not take it. */
export class AttachmentTakenError extends PlexusError {
  override readonly name = 'AttachmentTakenError';
  constructor(
    readonly endpoint: string,
    readonly holder: string,
  ) {
    super(`endpoint ${endpoint} is attached on host ${holder}, which is connected: this interface does not take it until ${holder} lets it go (removes it or marks it iface-status=inactive)`);
  }
}

export class BindingWriter {
  /** With `hosts`, a binding held by another connected host is never taken (AttachmentTakenError). */
  constructor(
    private readonly bindings: Collection<Binding>,
    private readonly hosts?: Collection<HostRecord>,
  ) {}

  /** Whether a claim of `host` must leave `cur` alone: it is held, not down, by another host whose OVSDB is connected. */
  static heldElsewhere(cur: Binding | undefined, host: string, holderConnected: (holder: string) => boolean): boolean {
    return cur !== undefined && cur.host !== null && cur.host !== host && cur.status !== 'down' && holderConnected(cur.host);
  }

  /** The binding `bind(req)` would write on top of `cur`, or undefined when nothing changes. */
  static bound(cur: Binding | undefined, req: BindRequest): Binding | undefined {
    if (cur && cur.host === req.host && cur.ofport === req.ofport && cur.ifaceName === req.ifaceName && cur.status !== 'down') return undefined;
    return next(cur, req.endpoint, { host: req.host, ofport: req.ofport, ifaceName: req.ifaceName }, 'bound');
  }

  /** Records the endpoint as attached at host/ofport (status bound). No write if already so. */
  bind(req: BindRequest): Promise<Binding | undefined> {
    return this.update(req.endpoint, (cur) => BindingWriter.bound(cur, req), async (cur) => {
      if (!this.hosts || !cur?.host || cur.host === req.host || cur.status === 'down') return;
      const holder = (await this.hosts.get(cur.host))?.value;
      if (BindingWriter.heldElsewhere(cur, req.host, () => holder?.ovsdbConnected === true)) throw new AttachmentTakenError(req.endpoint, cur.host);
    });
  }

  /** Marks the endpoint down if, and only if, it is still bound on `host`. */
  down(endpoint: string, host: string): Promise<Binding | undefined> {
    return this.update(endpoint, (cur) => (cur && cur.host === host && cur.status !== 'down' ? next(cur, endpoint, {}, 'down') : undefined));
  }

  /** Marks the endpoint installed if it is still bound on `host` at `ofport`. */
  installed(endpoint: string, host: string, ofport: number): Promise<Binding | undefined> {
    return this.update(endpoint, (cur) =>
      cur && cur.host === host && cur.ofport === ofport && cur.status === 'bound' ? next(cur, endpoint, {}, 'installed') : undefined,
    );
  }

  private async update(
    endpoint: string,
    change: (cur: Binding | undefined) => Binding | undefined,
    check?: (cur: Binding | undefined) => Promise<void>,
  ): Promise<Binding | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.bindings.get(endpoint);
      await check?.(cur?.value);
      const updated = change(cur?.value);
      if (!updated) return undefined;
      try {
        await this.bindings.putIfRevision(endpoint, updated, cur?.revision ?? '0');
        return updated;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    throw new ConflictError(`binding of ${endpoint} kept changing under ${MAX_ATTEMPTS} attempts`);
  }
}

function next(cur: Binding | undefined, endpoint: string, fields: Partial<Binding>, status: EndpointStatus): Binding {
  const at = new Date().toISOString();
  const host = fields.host ?? cur?.host ?? null;
  return {
    endpoint,
    host,
    ofport: fields.ofport ?? cur?.ofport ?? null,
    ifaceName: fields.ifaceName ?? cur?.ifaceName ?? null,
    status,
    history: [...(cur?.history ?? []), { status, at, host }].slice(-HISTORY),
    updatedAt: at,
  };
}
