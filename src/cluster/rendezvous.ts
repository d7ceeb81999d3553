/**
 * Rendezvous (highest-random-weight) hashing: every member computes, for each
 * host, the same ordering of members without talking to the others. A member
 * joining or leaving moves only the hosts it wins or held (≈ 1/N of them).
 */
import { createHash } from 'node:crypto';

/**
 * Scores already computed: every host joining re-runs the balanced assignment
 * over the whole fleet (every member must compute the same map), so without
 * this a 1,000-host join hashes a million times. Bounded: cleared when full.
 */
const scores = new Map<string, bigint>();
const MAX_SCORES = 200_000;

function score(member: string, key: string): bigint {
  const input = `${member}\0${key}`;
  let s = scores.get(input);
  if (s === undefined) {
    if (scores.size >= MAX_SCORES) scores.clear();
    s = createHash('sha256').update(input).digest().readBigUInt64BE(0);
    scores.set(input, s);
  }
  return s;
}

/** Members ordered by preference for `key` (first = owner, next = standbys). */
export function rankMembers(members: Iterable<string>, key: string): string[] {
  return [...members]
    .map((m) => ({ m, s: score(m, key) }))
    .sort((a, b) => (a.s === b.s ? (a.m < b.m ? -1 : 1) : a.s > b.s ? -1 : 1))
    .map((x) => x.m);
}

/**
 * Balanced assignment: each host goes to its best-ranked member that still has
 * room, hosts taken in sorted order. With n hosts over m members every member
 * takes floor(n/m), and n mod m of them one more — so the spread differs by at
 * most one datapath between members (a plain ceil(n/m) cap could leave the last
 * member short by more: 10 hosts over 3 members as 4/4/2). Every member
 * computes the same map from the same host and member sets.
 */
export function assignBalanced(hosts: Iterable<string>, members: Iterable<string>): Map<string, string> {
  const memberList = [...new Set(members)];
  const hostList = [...new Set(hosts)].sort();
  const out = new Map<string, string>();
  if (memberList.length === 0) return out;
  const base = Math.floor(hostList.length / memberList.length);
  let extras = hostList.length % memberList.length;
  const load = new Map(memberList.map((m) => [m, 0]));
  for (const h of hostList) {
    const m = rankMembers(memberList, h).find((x) => load.get(x)! < base || (load.get(x)! === base && extras > 0))!;
    if (load.get(m)! === base) extras--;
    load.set(m, load.get(m)! + 1);
    out.set(h, m);
  }
  return out;
}
