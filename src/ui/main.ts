/**
 * The web view at /ui: the topology live from /v1/events, an endpoint
 * drill-down, and a trace form that draws the hop path. Everything it shows
 * comes from the REST API with the token the user entered.
 */
import { ApiCallError, callApi, followEvents, listAll, readToken, saveToken, type StreamEvent, type StreamState } from './api';
import type { SecurityGroupRule } from '../store/model';
import { drawTopology, drawTracePath, colourOfStatus, type EndpointView, type HostView, type NetworkView, type TraceView } from './draw';

interface EndpointDetail extends EndpointView {
  readonly mac: string;
  readonly kind?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly securityGroups?: readonly string[];
  readonly ofport?: number | null;
  readonly ifaceName?: string | null;
  readonly policy?: EndpointPolicy;
  readonly statusHistory: readonly { readonly status: string; readonly at: string; readonly host?: string | null }[];
  readonly flows?: readonly string[];
}

/** GET /v1/endpoints/{id} `policy` (overlay/endpoint-policy.ts): effective rules and the QoS in force. */
interface EffectiveRule extends SecurityGroupRule {
  readonly group: { readonly id: string; readonly name: string };
  readonly remoteAddresses?: readonly string[];
  readonly flows?: readonly string[];
}
interface RateLimit {
  readonly rateKbps: number;
  readonly burstKb?: number;
}
interface EndpointPolicy {
  readonly rules: readonly EffectiveRule[];
  readonly qos: {
    readonly policy: { readonly id: string; readonly name: string; readonly egress?: RateLimit; readonly ingress?: RateLimit; readonly dscp?: number };
    readonly source: string;
    readonly meters: readonly { readonly direction: string; readonly meterId: number; readonly installed?: boolean; readonly error?: string }[];
  } | null;
}

/** A rule in words, as the trace says it: `ingress tcp/5432 from 10.0.0.0/24`. */
function ruleText(r: EffectiveRule, groupNames: ReadonlyMap<string, string>): string {
  const proto = r.protocol === undefined ? `any ${r.ethertype}` : String(r.protocol);
  const ports = r.portMin === undefined ? '' : `/${r.portMin}${r.portMax !== undefined && r.portMax !== r.portMin ? `-${r.portMax}` : ''}`;
  const icmp = r.icmpType === undefined ? '' : ` type ${r.icmpType}${r.icmpCode === undefined ? '' : ` code ${r.icmpCode}`}`;
  const peer = r.remoteGroup !== undefined ? `group ${groupNames.get(r.remoteGroup) ?? r.remoteGroup} (${r.remoteAddresses?.join(', ') || 'no members'})` : (r.remoteCidr ?? 'anywhere');
  return `${r.direction} ${proto}${ports}${icmp} ${r.direction === 'ingress' ? 'from' : 'to'} ${peer}`;
}

/** The QoS in force in words: `gold (endpoint): egress 10000 kbit/s, DSCP 46; meters 7 installed`. */
function qosText(q: NonNullable<EndpointPolicy['qos']>): string {
  const p = q.policy;
  const parts = [
    ...(p.egress ? [`egress ${p.egress.rateKbps} kbit/s`] : []),
    ...(p.ingress ? [`ingress ${p.ingress.rateKbps} kbit/s`] : []),
    ...(p.dscp !== undefined ? [`DSCP ${p.dscp}`] : []),
  ];
  const meters = q.meters.map((m) => `${m.direction} meter ${m.meterId}${m.error ? ` refused: ${m.error}` : m.installed === undefined ? '' : m.installed ? ' installed' : ' not installed'}`);
  return `${p.name} (from the ${q.source}): ${parts.join(', ') || 'no limits'}${meters.length ? `; ${meters.join(', ')}` : ''}`;
}

const state = {
  hosts: [] as HostView[],
  networks: [] as NetworkView[],
  endpoints: [] as EndpointView[],
  selected: undefined as string | undefined,
  hostsHidden: '' as string,
  stream: undefined as AbortController | undefined,
};

function findElement(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el;
}

function createEl<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function showError(where: string, err: unknown): void {
  const box = findElement('error');
  box.textContent = err instanceof Error ? `${where}: ${err.message}` : `${where}: ${String(err)}`;
  box.hidden = false;
}

function clearError(): void {
  findElement('error').hidden = true;
}

async function loadModel(): Promise<void> {
  try {
    const [hosts, networks, endpoints] = await Promise.all([
      listAll<HostView>('/v1/hosts').catch((err: unknown) => {
        // Hosts are for admin tokens; a tenant token still sees its endpoints.
        if (err instanceof ApiCallError && err.status === 403) {
          state.hostsHidden = 'hosts are visible to admin tokens only';
          return [];
        }
        throw err;
      }),
      listAll<NetworkView>('/v1/networks'),
      listAll<EndpointView>('/v1/endpoints'),
    ]);
    Object.assign(state, { hosts, networks, endpoints });
    clearError();
    renderTopology();
    renderTraceChoices();
    if (state.selected) await loadDetail(state.selected);
  } catch (err) {
    showError('loading the model', err);
    if (err instanceof ApiCallError && err.status === 401) findElement('token').focus();
  }
}

function renderTopology(): void {
  drawTopology(findElement('topology') as unknown as SVGSVGElement, state.hosts, state.networks, state.endpoints, state.selected, (id) => void selectEndpoint(id));
  findElement('counts').textContent = `${state.hosts.length} host(s) · ${state.networks.length} network(s) · ${state.endpoints.length} endpoint(s)${state.hostsHidden ? ` · ${state.hostsHidden}` : ''}`;
}

function renderTraceChoices(): void {
  for (const id of ['trace-from', 'trace-to']) {
    const select = findElement(id) as HTMLSelectElement;
    const keep = select.value;
    select.replaceChildren(...(id === 'trace-to' ? [createEl('option', { value: '' }, '(none)')] : []));
    for (const e of state.endpoints) select.append(createEl('option', { value: e.id }, e.name ? `${e.name} (${e.ips.join(', ')})` : e.id));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }
}

async function selectEndpoint(id: string): Promise<void> {
  state.selected = id;
  renderTopology();
  await loadDetail(id);
}

function addRow(table: HTMLTableElement, label: string, value: string | Node): void {
  const tr = createEl('tr');
  tr.append(createEl('th', {}, label));
  const td = createEl('td', { 'data-field': label.toLowerCase() });
  td.append(value);
  tr.append(td);
  table.append(tr);
}

async function loadDetail(id: string): Promise<void> {
  const panel = findElement('detail');
  let d: EndpointDetail;
  try {
    d = await callApi<EndpointDetail>('GET', `/v1/endpoints/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) {
      state.selected = undefined;
      panel.replaceChildren(createEl('p', { class: 'muted' }, `endpoint ${id} was deleted`));
      return;
    }
    showError('loading the endpoint', err);
    return;
  }
  // Groups are named by id in the endpoint and its rules: their names from the groups this token sees.
  const groupNames = new Map<string, string>((d.policy?.rules ?? []).map((r) => [r.group.id, r.group.name]));
  if (d.policy?.rules.some((r) => r.remoteGroup !== undefined && !groupNames.has(r.remoteGroup))) {
    for (const g of await listAll<{ id: string; name: string }>('/v1/security-groups').catch(() => [])) groupNames.set(g.id, g.name);
  }
  const network = state.networks.find((n) => n.id === d.network);
  const table = createEl('table', { class: 'facts' });
  const status = createEl('span', { class: 'badge' }, d.status ?? 'pending');
  status.style.background = colourOfStatus(d.status);
  addRow(table, 'Status', status);
  addRow(table, 'IP', d.ips.join(', ') || '—');
  addRow(table, 'MAC', d.mac);
  addRow(table, 'Host', d.host ?? '—');
  addRow(table, 'Port', d.ifaceName ? `${d.ifaceName} (ofport ${d.ofport ?? '?'})` : '—');
  addRow(table, 'Kind', d.kind ?? '—');
  addRow(table, 'Network', network?.name ? `${network.name} (${d.network})` : d.network);
  addRow(table, 'Groups', d.securityGroups?.length ? d.securityGroups.map((g) => groupNames.get(g) ?? g).join(', ') : 'none');
  addRow(table, 'Labels', Object.entries(d.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'none');
  addRow(table, 'QoS', d.policy?.qos ? qosText(d.policy.qos) : 'none');

  const history = createEl('ol', { class: 'history' });
  for (const h of d.statusHistory) {
    const li = createEl('li', { 'data-status': h.status }, ` ${h.status}${h.host ? ` on ${h.host}` : ''} · ${new Date(h.at).toLocaleTimeString()}`);
    li.prepend(createEl('span', { class: 'dot', style: `background:${colourOfStatus(h.status)}` }));
    history.append(li);
  }
  const rules = createEl('ul', { class: 'rules' });
  if (!d.policy?.rules.length) rules.append(createEl('li', { class: 'muted' }, d.securityGroups?.length ? 'no rules' : 'no security groups: open inside its network'));
  for (const r of d.policy?.rules ?? []) {
    const li = createEl('li', { 'data-rule': r.id }, `${r.group.name}: ${ruleText(r, groupNames)}`);
    if (r.flows) li.append(createEl('span', { class: 'muted' }, ` · ${r.flows.length} flow(s)`));
    rules.append(li);
  }
  const flows = createEl('div', { class: 'flows' });
  if (d.flows === undefined) flows.append(createEl('p', { class: 'muted' }, 'flows are not known on this member'));
  else if (d.flows.length === 0) flows.append(createEl('p', { class: 'muted' }, 'no flows (not attached yet?)'));
  for (const f of d.flows ?? []) flows.append(createEl('code', { 'data-flow': '' }, f));

  const traceFrom = createEl('button', { type: 'button' }, 'Trace from here');
  traceFrom.addEventListener('click', () => {
    (findElement('trace-from') as HTMLSelectElement).value = d.id;
    findElement('trace-form').scrollIntoView({ behavior: 'smooth' });
  });
  panel.replaceChildren(
    createEl('h2', { 'data-endpoint-detail': d.id }, d.name || d.id),
    createEl('p', { class: 'muted' }, d.id),
    table,
    createEl('h3', {}, 'Effective rules'),
    rules,
    createEl('h3', {}, 'Status history'),
    history,
    createEl('h3', {}, `Flows (${d.flows?.length ?? 0}) — rules in effect on its host`),
    flows,
    traceFrom,
  );
}

/** Events only say what changed: the view re-reads the lists, coalescing bursts. */
let reloadTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleReload(): void {
  if (reloadTimer !== undefined) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = undefined;
    void loadModel();
  }, 150);
}

function onStreamEvent(e: StreamEvent): void {
  const last = findElement('last-event');
  last.textContent = e.id ? `last event ${e.id} (${e.event})` : e.event;
  if (e.id) last.dataset['id'] = e.id;
  scheduleReload();
}

/** A first connection re-reads everything; a resumed one gets what it missed replayed (or `reset`, which re-reads too). */
function onStreamState(s: StreamState, resumedFrom?: string): void {
  const el = findElement('live');
  el.dataset['state'] = s;
  el.textContent = { connecting: 'connecting…', live: 'live', retrying: 'reconnecting…', unauthorized: 'token refused' }[s];
  if (s !== 'live') return;
  if (resumedFrom === undefined) scheduleReload();
  else {
    el.dataset['resumedFrom'] = resumedFrom;
    el.title = `resumed after event ${resumedFrom}`;
  }
}

function startStream(): void {
  state.stream?.abort();
  const abort = new AbortController();
  state.stream = abort;
  void followEvents(onStreamEvent, onStreamState, abort.signal);
}

async function submitTrace(ev: Event): Promise<void> {
  ev.preventDefault();
  const from = (findElement('trace-from') as HTMLSelectElement).value;
  const to = (findElement('trace-to') as HTMLSelectElement).value;
  const protocol = (findElement('trace-protocol') as HTMLSelectElement).value;
  const port = (findElement('trace-port') as HTMLInputElement).value;
  const body: Record<string, unknown> = { from, protocol, ...(to ? { to } : {}), ...(port && (protocol === 'tcp' || protocol === 'udp') ? { dstPort: Number(port) } : {}) };
  const out = findElement('trace-result');
  try {
    const t = await callApi<TraceView>('POST', '/v1/trace', body);
    const verdict = createEl('p', { class: `verdict-line ${t.verdict}`, 'data-verdict': t.verdict });
    verdict.append(createEl('strong', {}, t.verdict), ` — ${t.reason}`);
    out.replaceChildren(verdict);
    drawTracePath(findElement('trace-path') as unknown as SVGSVGElement, t);
  } catch (err) {
    out.replaceChildren(createEl('p', { class: 'verdict-line dropped' }, err instanceof Error ? err.message : String(err)));
    (findElement('trace-path') as unknown as SVGSVGElement).replaceChildren();
  }
}

function start(): void {
  const token = findElement('token') as HTMLInputElement;
  token.value = readToken();
  findElement('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveToken(token.value.trim());
    state.hostsHidden = '';
    void loadModel();
    startStream();
  });
  findElement('trace-form').addEventListener('submit', (ev) => void submitTrace(ev));
  void loadModel();
  startStream();
}

start();
