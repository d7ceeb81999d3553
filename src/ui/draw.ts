/**
 * SVG drawings of the web view: the topology (hosts as boxes holding their
 * endpoints, tunnels as arcs between hosts that share a network — the pairs
 * whose flows send each other VXLAN traffic —, endpoints coloured by status
 * and ringed by network colour) and a trace's hop path (hops in columns per host,
 * the tunnel between them, the verdict at the end).
 */

export interface HostView {
  readonly id: string;
  readonly encapIp: string | null;
  readonly status: string;
  readonly reason?: string | null;
}

export interface NetworkView {
  readonly id: string;
  readonly name?: string;
}

export interface EndpointView {
  readonly id: string;
  readonly name?: string;
  readonly network: string;
  readonly status?: string;
  readonly host?: string | null;
  readonly ips: readonly string[];
}

export interface TraceHop {
  readonly host: string;
  readonly tableId: number;
  readonly table?: string;
  readonly stage?: string;
  readonly summary?: string;
  readonly owner?: { readonly feature?: string; readonly name?: string };
}

export interface TraceView {
  readonly verdict: string;
  readonly reason: string;
  readonly hops: readonly TraceHop[];
  readonly arrivals?: readonly { readonly host: string; readonly kind: string; readonly endpoint?: { readonly name?: string; readonly id: string } }[];
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#3b82f6', '#a855f7', '#f97316', '#14b8a6', '#ec4899', '#84cc16', '#eab308', '#06b6d4'];

export const STATUS_COLOURS: Readonly<Record<string, string>> = {
  installed: '#22c55e',
  bound: '#eab308',
  pending: '#94a3b8',
  down: '#ef4444',
  error: '#dc2626',
  ready: '#22c55e',
  configuring: '#eab308',
  'not-ready': '#f97316',
  disconnected: '#ef4444',
};

export function colourOfStatus(status: string | undefined): string {
  return STATUS_COLOURS[status ?? 'pending'] ?? '#94a3b8';
}

export function colourOfNetwork(networks: readonly NetworkView[], id: string): string {
  const i = networks.findIndex((n) => n.id === id);
  return PALETTE[(i < 0 ? networks.length : i) % PALETTE.length]!;
}

function createSvg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const BOX_W = 250;
const GAP_X = 60;
const TOP = 90;
const EP_COLS = 3;
const EP_ROW_H = 64;

/** The topology into `svg`; clicking an endpoint calls `onSelect`. */
export function drawTopology(
  svg: SVGSVGElement,
  hosts: readonly HostView[],
  networks: readonly NetworkView[],
  endpoints: readonly EndpointView[],
  selected: string | undefined,
  onSelect: (endpointId: string) => void,
): void {
  svg.replaceChildren();
  const known = new Set(hosts.map((h) => h.id));
  const unplaced = endpoints.filter((e) => !e.host || !known.has(e.host));
  const columns: { id: string; host?: HostView; eps: EndpointView[] }[] = hosts.map((h) => ({ id: h.id, host: h, eps: endpoints.filter((e) => e.host === h.id) }));
  if (unplaced.length) columns.push({ id: '(not attached)', eps: unplaced });
  const heights = columns.map((c) => 56 + Math.max(1, Math.ceil(c.eps.length / EP_COLS)) * EP_ROW_H);
  const width = Math.max(600, columns.length * (BOX_W + GAP_X) + GAP_X);
  const height = TOP + Math.max(120, ...heights) + 70;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  const xOf = (i: number): number => GAP_X + i * (BOX_W + GAP_X);

  // Tunnels: every pair of hosts with a tunnel endpoint that share a network
  // (an attached endpoint of it on each: SPEC §2, flows go only there), as arcs above the boxes.
  const tunnelled = columns.map((c, i) => ({ c, i })).filter(({ c }) => c.host?.encapIp);
  const networksOn = new Map(tunnelled.map(({ c }) => [c.id, new Set(c.eps.filter((e) => e.status !== 'down').map((e) => e.network))]));
  const tunnels = createSvg('g', { class: 'tunnels' });
  for (let a = 0; a < tunnelled.length; a++) {
    for (let b = a + 1; b < tunnelled.length; b++) {
      const [p, q] = [tunnelled[a]!, tunnelled[b]!];
      const shared = [...networksOn.get(p.c.id)!].filter((n) => networksOn.get(q.c.id)!.has(n)).sort();
      if (!shared.length) continue;
      const sharedNames = shared.map((id) => networks.find((n) => n.id === id)?.name ?? id);
      const x1 = xOf(p.i) + BOX_W / 2;
      const x2 = xOf(q.i) + BOX_W / 2;
      const lift = 24 + (q.i - p.i) * 14;
      const up = p.c.host!.status === 'ready' && q.c.host!.status === 'ready';
      const path = createSvg('path', {
        d: `M ${x1} ${TOP} Q ${(x1 + x2) / 2} ${TOP - lift * 2} ${x2} ${TOP}`,
        class: `tunnel ${up ? 'up' : 'down'}`,
        'data-tunnel': `${p.c.id}~${q.c.id}`,
        'data-networks': sharedNames.join(','),
      });
      path.append(createSvg('title', {}, `VXLAN ${p.c.host!.encapIp} ↔ ${q.c.host!.encapIp} · ${sharedNames.join(', ')}`));
      tunnels.append(path);
    }
  }
  svg.append(tunnels);

  columns.forEach((c, i) => {
    const x = xOf(i);
    const g = createSvg('g', { class: c.host ? 'host' : 'host unplaced', ...(c.host ? { 'data-host': c.host.id, 'data-status': c.host.status } : {}) });
    g.append(createSvg('rect', { x, y: TOP, width: BOX_W, height: heights[i]!, rx: 10, class: 'host-box', stroke: c.host ? colourOfStatus(c.host.status) : '#64748b' }));
    g.append(createSvg('text', { x: x + 14, y: TOP + 24, class: 'host-name' }, c.id));
    const sub = c.host ? `${c.host.encapIp ?? 'no encap ip'} · ${c.host.status}` : `${c.eps.length} endpoint(s)`;
    g.append(createSvg('text', { x: x + 14, y: TOP + 42, class: 'host-sub' }, sub));
    if (c.host?.reason) g.append(createSvg('title', {}, c.host.reason));
    c.eps.forEach((e, k) => {
      const cx = x + 42 + (k % EP_COLS) * 83;
      const cy = TOP + 80 + Math.floor(k / EP_COLS) * EP_ROW_H;
      const ep = createSvg('g', { class: `endpoint${e.id === selected ? ' selected' : ''}`, 'data-endpoint': e.id, 'data-status': e.status ?? 'pending', tabindex: 0 });
      ep.append(createSvg('circle', { cx, cy, r: 16, class: 'ep-ring', stroke: colourOfNetwork(networks, e.network) }));
      ep.append(createSvg('circle', { cx, cy, r: 10, fill: colourOfStatus(e.status) }));
      ep.append(createSvg('text', { x: cx, y: cy + 32, class: 'ep-name' }, e.name || e.id.slice(0, 8)));
      ep.append(createSvg('title', {}, `${e.name ?? e.id} · ${e.ips.join(', ')} · ${e.status ?? 'pending'}`));
      ep.addEventListener('click', () => onSelect(e.id));
      ep.addEventListener('keydown', (ev) => {
        if ((ev as KeyboardEvent).key === 'Enter') onSelect(e.id);
      });
      g.append(ep);
    });
    svg.append(g);
  });

  // Legend: networks by ring colour, statuses by fill.
  const legend = createSvg('g', { class: 'legend' });
  let lx = 16;
  for (const n of networks) {
    legend.append(createSvg('circle', { cx: lx + 6, cy: height - 24, r: 6, fill: 'none', 'stroke-width': 3, stroke: colourOfNetwork(networks, n.id) }));
    legend.append(createSvg('text', { x: lx + 18, y: height - 20 }, n.name ?? n.id));
    lx += 30 + 8 * (n.name ?? n.id).length;
  }
  lx += 20;
  for (const s of ['installed', 'bound', 'pending', 'down']) {
    legend.append(createSvg('circle', { cx: lx + 6, cy: height - 24, r: 6, fill: colourOfStatus(s) }));
    legend.append(createSvg('text', { x: lx + 18, y: height - 20 }, s));
    lx += 30 + 8 * s.length;
  }
  svg.append(legend);
}

const HOP_W = 250;
const HOP_H = 58;
const HOP_GAP = 16;

/** A trace's hop path into `svg`: one column per host crossed, in order. */
export function drawTracePath(svg: SVGSVGElement, trace: TraceView): void {
  svg.replaceChildren();
  const defs = createSvg('defs', {});
  const marker = createSvg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(createSvg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#94a3b8' }));
  defs.append(marker);
  svg.append(defs);

  const segments: { host: string; hops: TraceHop[] }[] = [];
  for (const h of trace.hops) {
    const last = segments[segments.length - 1];
    if (last && last.host === h.host) last.hops.push(h);
    else segments.push({ host: h.host, hops: [h] });
  }
  const colW = HOP_W + 90;
  const rows = Math.max(1, ...segments.map((s) => s.hops.length), (segments[segments.length - 1]?.hops.length ?? 0) + 1);
  const width = Math.max(500, segments.length * colW + 40);
  const height = 40 + rows * (HOP_H + HOP_GAP) + 10;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));

  let prev: { x: number; y: number } | undefined;
  const arrow = (from: { x: number; y: number }, to: { x: number; y: number }, label?: string): void => {
    svg.append(createSvg('path', { d: `M ${from.x} ${from.y} L ${to.x} ${to.y}`, class: label ? 'hop-link tunnel-link' : 'hop-link', 'marker-end': 'url(#arrow)' }));
    if (label) svg.append(createSvg('text', { x: (from.x + to.x) / 2 + 8, y: (from.y + to.y) / 2, class: 'tunnel-label' }, label));
  };
  segments.forEach((s, si) => {
    const x = 20 + si * colW;
    svg.append(createSvg('text', { x, y: 26, class: 'trace-host', 'data-trace-host': s.host }, s.host));
    s.hops.forEach((h, hi) => {
      const y = 40 + hi * (HOP_H + HOP_GAP);
      const g = createSvg('g', { class: 'hop', 'data-table': h.tableId, 'data-host': h.host });
      g.append(createSvg('rect', { x, y, width: HOP_W, height: HOP_H, rx: 6 }));
      g.append(createSvg('text', { x: x + 10, y: y + 20, class: 'hop-table' }, `table ${h.tableId}${h.table ? ` · ${h.table}` : ''}`));
      const detail = h.summary ?? h.stage ?? '';
      g.append(createSvg('text', { x: x + 10, y: y + 40, class: 'hop-summary' }, detail.length > 38 ? `${detail.slice(0, 37)}…` : detail));
      g.append(createSvg('title', {}, [h.stage, h.summary, h.owner?.feature, h.owner?.name].filter(Boolean).join(' · ')));
      svg.append(g);
      const top = { x: x + HOP_W / 2, y };
      if (prev) arrow(prev, hi === 0 ? { x, y: y + HOP_H / 2 } : top, hi === 0 ? 'tunnel' : undefined);
      prev = { x: x + (hi === s.hops.length - 1 && si < segments.length - 1 ? HOP_W : HOP_W / 2), y: hi === s.hops.length - 1 && si < segments.length - 1 ? y + HOP_H / 2 : y + HOP_H };
    });
  });
  // The verdict below the last hop.
  const lastSeg = Math.max(0, segments.length - 1);
  const vx = 20 + lastSeg * colW;
  const vy = 40 + (segments[lastSeg]?.hops.length ?? 0) * (HOP_H + HOP_GAP);
  const arrival = trace.arrivals?.[0];
  const label = trace.verdict === 'delivered' && arrival?.endpoint ? `delivered to ${arrival.endpoint.name ?? arrival.endpoint.id}` : trace.verdict;
  const v = createSvg('g', { class: `verdict ${trace.verdict}`, 'data-verdict': trace.verdict });
  v.append(createSvg('rect', { x: vx, y: vy, width: HOP_W, height: HOP_H - 14, rx: 22 }));
  v.append(createSvg('text', { x: vx + HOP_W / 2, y: vy + 28, 'text-anchor': 'middle' }, label));
  svg.append(v);
  if (prev) arrow(prev, { x: vx + HOP_W / 2, y: vy });
}
