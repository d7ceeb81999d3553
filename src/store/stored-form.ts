/**
 * The stored (etcd) form of endpoints and bindings, the two records there is
 * one of per endpoint (SPEC §12: ≤ 1 KiB per endpoint in etcd). The in-memory
 * types (model.ts) are unchanged; only what goes into the value is shorter:
 * nothing the key already says (endpoint id, network), no default, no
 * duplicate, short field names, timestamps as epoch milliseconds.
 *
 * Endpoint, at endpoints/<network>/<id>:
 *
 *   n  name               omitted when ''
 *   m  mac                12 hex digits (the canonical colon form without colons)
 *   i  ips                omitted when []
 *   k  kind               omitted when 'other'
 *   l  labels             omitted when {}
 *   g  securityGroups     omitted when []
 *   q  qosPolicy          omitted when the record has none (null is kept)
 *   qt 1                  qosPolicy came after updatedAt (a patch added it): keeps the key order
 *   c  createdAt          epoch ms
 *   u  updatedAt          epoch ms; omitted when equal to createdAt
 *
 * Binding, at bindings/<endpoint-id>:
 *
 *   h  host, p ofport, f ifaceName     each omitted when null
 *   t  history            [[status, at, host?], ...]: the first `at` in epoch ms, each later one
 *                         in ms after the one before; `host` only when it is not the binding's
 *   s  status             omitted when it is the last history entry's (always, as written here)
 *   u  updatedAt          epoch ms; omitted when equal to the last history entry's `at`
 *
 *   {"n":"web-1","m":"fa01ceba9129","i":["10.0.0.2"],"k":"container","c":1764720882888}
 *   {"h":"host-1","p":5,"f":"veth5","t":[["bound",1764720882896],["installed",12]]}
 *
 * A timestamp that is not exactly what `Date.prototype.toISOString` prints is
 * kept as the string it is, so decoding gives back the record it was, key
 * order included (GET /v1/events sends records as JSON text).
 *
 * Upgrade: records the previous version wrote (the full JSON record, with
 * `id` for an endpoint and `endpoint` for a binding) are read as they are; a
 * record is rewritten in the short form the next time it is written, once no
 * member of the previous version is left (stored-form-gate.ts).
 */
import type { Etcd3 } from 'etcd3';
import { Collection } from './collection';
import type { Keys } from './keys';
import type { Binding, Endpoint, EndpointStatus, StatusChange } from './model';

/** This stored form's version, which members advertise in their record (stored-form-gate.ts). */
export const STORED_FORM = 2;

const ISO_MS_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const HEX12_RE = /^[0-9a-f]{12}$/;

type Stamp = number | string;

/**
 * Decoded records share what they can (they are the model cache's, one per
 * endpoint): the empty labels and lists (frozen), the status and kind strings,
 * the binding's host in its history, a time equal to another.
 */
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const NO_STRINGS: readonly string[] = Object.freeze([]);
const STATUSES: Readonly<Record<string, EndpointStatus>> = { pending: 'pending', bound: 'bound', installed: 'installed', down: 'down' };
const KINDS: Readonly<Record<string, Endpoint['kind']>> = { vm: 'vm', container: 'container', other: 'other' };

/** Epoch ms when `iso` is exactly what toISOString prints for it, else the string itself. */
function encodeStamp(iso: string): Stamp {
  if (!ISO_MS_RE.test(iso)) return iso;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : iso;
}

function decodeStamp(s: Stamp): string {
  return typeof s === 'number' ? new Date(s).toISOString() : s;
}

interface StoredEndpoint {
  n?: string;
  m: string;
  i?: readonly string[];
  k?: Endpoint['kind'];
  l?: Readonly<Record<string, string>>;
  g?: readonly string[];
  q?: string | null;
  qt?: 1;
  c: Stamp;
  u?: Stamp;
}

/** The value stored for an endpoint (its id and network are in the key). */
export function encodeEndpoint(e: Endpoint): string {
  const out: StoredEndpoint = { m: MAC_RE.test(e.mac) ? e.mac.replace(/:/g, '') : e.mac, c: encodeStamp(e.createdAt) };
  if (e.name !== '') out.n = e.name;
  if (e.ips.length) out.i = e.ips;
  if (e.kind !== 'other') out.k = e.kind;
  if (Object.keys(e.labels).length) out.l = e.labels;
  if (e.securityGroups.length) out.g = e.securityGroups;
  if ('qosPolicy' in e && e.qosPolicy !== undefined) {
    out.q = e.qosPolicy;
    const keys = Object.keys(e);
    if (keys.indexOf('qosPolicy') > keys.indexOf('updatedAt')) out.qt = 1;
  }
  if (e.updatedAt !== e.createdAt) out.u = encodeStamp(e.updatedAt);
  // Fixed field order: the same record always gives the same bytes.
  const { n, m, i, k, l, g, q, qt, c, u } = out;
  return JSON.stringify({ n, m, i, k, l, g, q, qt, c, u });
}

/** An endpoint from its key's network and id and the stored value (either form). */
export function decodeEndpoint(network: string, id: string, text: string): Endpoint {
  const v = JSON.parse(text) as StoredEndpoint | Endpoint;
  if (typeof v !== 'object' || v === null) throw new TypeError('not a JSON object');
  if ('id' in v) return v; // as the previous version wrote it
  const mac = HEX12_RE.test(v.m) ? v.m.replace(/(..)(?!$)/g, '$1:') : v.m;
  const createdAt = decodeStamp(v.c);
  const updatedAt = v.u === undefined ? createdAt : decodeStamp(v.u);
  const kind = v.k === undefined ? 'other' : (KINDS[v.k] ?? v.k);
  const name = v.n ?? '';
  const ips = v.i ?? NO_STRINGS;
  const labels = v.l ?? NO_LABELS;
  const securityGroups = v.g ?? NO_STRINGS;
  // Object literals, not spreads: a spread copy holds its properties in a slower, larger form.
  if (v.q === undefined) return { id, name, network, mac, ips, kind, labels, securityGroups, createdAt, updatedAt };
  if (v.qt) return { id, name, network, mac, ips, kind, labels, securityGroups, createdAt, updatedAt, qosPolicy: v.q };
  return { id, name, network, mac, ips, kind, labels, securityGroups, qosPolicy: v.q, createdAt, updatedAt };
}

/** One history entry: status, at (ms, after the previous entry's for all but the first; or the literal string), host when not the binding's. */
type StoredChange = [EndpointStatus, Stamp] | [EndpointStatus, Stamp, string | null];

interface StoredBinding {
  h?: string;
  p?: number;
  f?: string;
  t?: StoredChange[];
  s?: EndpointStatus;
  u?: Stamp;
}

/** The value stored for a binding (its endpoint is in the key). */
export function encodeBinding(b: Binding): string {
  const out: StoredBinding = {};
  if (b.host !== null) out.h = b.host;
  if (b.ofport !== null) out.p = b.ofport;
  if (b.ifaceName !== null) out.f = b.ifaceName;
  let previous: number | undefined;
  if (b.history.length) {
    out.t = b.history.map((c) => {
      const stamp = encodeStamp(c.at);
      const at = typeof stamp === 'number' && previous !== undefined ? stamp - previous : stamp;
      previous = typeof stamp === 'number' ? stamp : undefined;
      return c.host === b.host ? [c.status, at] : [c.status, at, c.host];
    });
  }
  const last = b.history[b.history.length - 1];
  if (last?.status !== b.status) out.s = b.status;
  if (last?.at !== b.updatedAt) out.u = encodeStamp(b.updatedAt);
  return JSON.stringify(out);
}

/** A binding from its key's endpoint id and the stored value (either form). */
export function decodeBinding(endpoint: string, text: string): Binding {
  const v = JSON.parse(text) as StoredBinding | Binding;
  if (typeof v !== 'object' || v === null) throw new TypeError('not a JSON object');
  if ('endpoint' in v) return v; // as the previous version wrote it
  const host = v.h ?? null;
  let previous: number | undefined;
  const history: StatusChange[] = (v.t ?? []).map((c) => {
    const ms = typeof c[1] === 'number' ? (previous === undefined ? c[1] : previous + c[1]) : undefined;
    previous = ms;
    return { status: STATUSES[c[0]] ?? c[0], at: ms === undefined ? (c[1] as string) : new Date(ms).toISOString(), host: c.length > 2 ? c[2]! : host };
  });
  const last = history[history.length - 1];
  return {
    endpoint,
    host,
    ofport: v.p ?? null,
    ifaceName: v.f ?? null,
    status: v.s === undefined ? last!.status : (STATUSES[v.s] ?? v.s),
    history,
    updatedAt: v.u === undefined ? last!.at : decodeStamp(v.u),
  };
}

/** Endpoint records under endpoints/ (all, or one network's). */
export function endpointCollection(client: Etcd3, keys: Keys, network?: string): Collection<Endpoint> {
  return new Collection<Endpoint>(client, keys.endpoints(network), {
    encode: encodeEndpoint,
    decode: (key, text) => {
      const { network: net, id } = keys.endpointKeyOf(key);
      return decodeEndpoint(net, id, text);
    },
  });
}

/** Binding records under bindings/. */
export function bindingCollection(client: Etcd3, keys: Keys): Collection<Binding> {
  return new Collection<Binding>(client, keys.bindings(), { encode: encodeBinding, decode: (key, text) => decodeBinding(keys.bindingOf(key), text) });
}
