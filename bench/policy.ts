/**
 * `policy`: the cost of security groups in the compiler (issue 12), no I/O:
 * 1,000 endpoints in 10 groups of 20 rules each (remote groups, CIDRs, port
 * ranges), spread over hosts; flows per host, time to compile every host, and
 * the flows that change on a host when the 1,000th member joins a group (O(1)
 * with conjunctive matches: its own address flows, not N × rules). Also the
 * compile time of one endpoint's partition with 5 groups and with none.
 */
import { performance } from 'node:perf_hooks';
import { compileEndpoint, compileHost } from '../src/compiler/compile-host';
import { placementOf, type HostContext, type Snapshot } from '../src/compiler/snapshot';
import type { Binding, Endpoint, Network, SecurityGroup, SecurityGroupRule } from '../src/store/model';
import { round, type BenchDefinition } from './framework';

const T = '2026-01-01T00:00:00.000Z';

function groupsOf(nGroups: number, nRules: number): SecurityGroup[] {
  const out: SecurityGroup[] = [];
  for (let g = 0; g < nGroups; g++) {
    const rules: SecurityGroupRule[] = [
      { id: `g${g}-eg4`, direction: 'egress', ethertype: 'IPv4' },
      { id: `g${g}-eg6`, direction: 'egress', ethertype: 'IPv6' },
    ];
    for (let r = rules.length; r < nRules; r++) {
      const kind = r % 4;
      const base = { id: `g${g}-r${r}`, direction: 'ingress', ethertype: 'IPv4' } as const;
      if (kind === 0 || kind === 1) rules.push({ ...base, protocol: 'tcp', portMin: 8000 + r, portMax: 8000 + r, remoteGroup: `g${(g + r) % nGroups}` });
      else if (kind === 2) rules.push({ ...base, protocol: 'tcp', portMin: 1000, portMax: 1999, remoteCidr: `10.${r}.0.0/16` });
      else rules.push({ ...base, protocol: 'icmp', remoteGroup: `g${g}` });
    }
    out.push({ id: `g${g}`, name: `g${g}`, tenant: 'default', description: '', rules, createdAt: T, updatedAt: T });
  }
  return out;
}

function modelOf(nEndpoints: number, nHosts: number, nGroups: number, nRules: number, groupsPerEndpoint = 1): Snapshot {
  const network: Network = { id: 'n', name: 'n', tenant: 'default', vni: 7000, mtu: 1450, createdAt: T, updatedAt: T };
  const endpoints: Endpoint[] = [];
  const bindings = new Map<string, Binding>();
  for (let i = 0; i < nEndpoints; i++) {
    const id = `e${String(i).padStart(5, '0')}`;
    const sgs = Array.from({ length: groupsPerEndpoint }, (_, k) => `g${(i + k) % nGroups}`);
    endpoints.push({ id, name: id, network: 'n', mac: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, ips: [`10.9.${i >> 8}.${(i & 0xff) + 1}`], kind: 'container', labels: {}, securityGroups: sgs, createdAt: T, updatedAt: T });
    bindings.set(id, { endpoint: id, host: `h${i % nHosts}`, ofport: 1 + Math.floor(i / nHosts), ifaceName: null, status: 'bound', history: [], updatedAt: T });
  }
  return {
    networks: new Map([['n', network]]),
    subnetsByNetwork: new Map(),
    endpointsByNetwork: new Map([['n', endpoints]]),
    bindings,
    securityGroups: new Map(groupsOf(nGroups, nRules).map((g) => [g.id, g])),
  };
}

/** n hosts, each with its plexus-vxlan on port 1000 and every host's encap IP. */
function hostsOf(n: number): HostContext[] {
  const encapIps = new Map(Array.from({ length: n }, (_, j) => [`h${j}`, `192.0.2.${j + 1}`] as [string, string]));
  return Array.from({ length: n }, (_, i) => ({ id: `h${i}`, tunnelPort: 1000, encapIps }));
}

const flowSet = (s: Snapshot, h: HostContext): Set<string> =>
  new Set([...compileHost(s, h).values()].flat().map((f) => `${f.table.id}|${f.priority}|${JSON.stringify(f.match, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}|${JSON.stringify(f.instructions, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}|${f.cookie}`));

export const policyBench: BenchDefinition = {
  name: 'policy',
  summary: 'security groups in the compiler: flows per host, compile time, flows changed when the 1,000th member joins',
  options: [
    { name: 'endpoints', kind: 'number', default: 1000, help: 'endpoints' },
    { name: 'hosts', kind: 'number', default: 10, help: 'hosts they are spread over' },
    { name: 'groups', kind: 'number', default: 10, help: 'security groups' },
    { name: 'rules', kind: 'number', default: 20, help: 'rules per group' },
  ],
  async run(ctx) {
    const n = Number(ctx.options['endpoints']);
    const nHosts = Number(ctx.options['hosts']);
    const nGroups = Number(ctx.options['groups']);
    const nRules = Number(ctx.options['rules']);
    const hosts = hostsOf(nHosts);
    const full = modelOf(n, nHosts, nGroups, nRules);
    const noPolicy = modelOf(n, nHosts, nGroups, nRules, 0);
    compileHost(full, hosts[0]!); // warm up
    let t = performance.now();
    let flows = 0;
    for (const h of hosts) flows += [...compileHost(full, h).values()].reduce((a, f) => a + f.length, 0);
    const compileAllMs = performance.now() - t;
    const perHost = flows / nHosts;
    const basePerHost = hosts.map((h) => [...compileHost(noPolicy, h).values()].reduce((a, f) => a + f.length, 0)).reduce((a, b) => a + b, 0) / nHosts;
    // The 1,000th member: the last endpoint joins group g0 (before: no group).
    const last = (full.endpointsByNetwork.get('n') ?? [])[n - 1]!;
    const without: Snapshot = { ...full, endpointsByNetwork: new Map([['n', (full.endpointsByNetwork.get('n') ?? []).map((e) => (e.id === last.id ? { ...e, securityGroups: [] } : e))]]) };
    const withJoin: Snapshot = { ...full, endpointsByNetwork: new Map([['n', (full.endpointsByNetwork.get('n') ?? []).map((e) => (e.id === last.id ? { ...e, securityGroups: ['g0'] } : e))]]) };
    const remoteHost = hosts.find((h) => h.id !== placementOf(full, last)!.host)!;
    const a = flowSet(without, remoteHost);
    const b = flowSet(withJoin, remoteHost);
    const changedRemote = [...b].filter((f) => !a.has(f)).length + [...a].filter((f) => !b.has(f)).length;
    // Without conjunctions, every local endpoint would get one flow per rule of its groups naming g0 for the new address.
    let naive = 0;
    for (const e of full.endpointsByNetwork.get('n') ?? []) {
      if (placementOf(full, e)?.host !== remoteHost.id) continue;
      for (const g of e.securityGroups) naive += full.securityGroups!.get(g)!.rules.filter((r) => r.remoteGroup === 'g0').length;
    }
    // One endpoint's partition with 5 groups and with none.
    const five = modelOf(n, nHosts, nGroups, nRules, 5);
    const p5 = placementOf(five, (five.endpointsByNetwork.get('n') ?? [])[0])!;
    const p0 = placementOf(noPolicy, (noPolicy.endpointsByNetwork.get('n') ?? [])[0])!;
    const host0 = hosts.find((h) => h.id === p5.host)!;
    const time = (s: Snapshot, p: typeof p5): { us: number; flows: number } => {
      const reps = 2000;
      let f = 0;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) f = compileEndpoint(s, host0, p, true).length;
      return { us: ((performance.now() - t0) * 1000) / reps, flows: f };
    };
    time(five, p5);
    const with5 = time(five, p5);
    const with0 = time(noPolicy, p0);
    t = performance.now();
    ctx.progress(`${n} endpoints, ${nGroups} groups x ${nRules} rules, ${nHosts} hosts`);
    return {
      endpoints: n,
      hosts: nHosts,
      groups: nGroups,
      rules_per_group: nRules,
      flows_per_host: Math.round(perHost),
      flows_per_host_without_policy: Math.round(basePerHost),
      compile_all_hosts_ms: round(compileAllMs, 1),
      compile_per_host_ms: round(compileAllMs / nHosts, 1),
      join_flows_changed_remote_host: changedRemote,
      join_flows_without_conjunction: naive,
      endpoint_partition_flows_5_groups: with5.flows,
      endpoint_partition_flows_no_group: with0.flows,
      endpoint_compile_us_5_groups: round(with5.us, 1),
      endpoint_compile_us_no_group: round(with0.us, 1),
    };
  },
};
