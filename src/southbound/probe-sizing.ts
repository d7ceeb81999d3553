/**
 * The inactivity probe hosts are asked to use toward this member (the
 * `inactivity_probe` of their Manager and br-int Controller rows, host-plan.ts),
 * sized for the fleet this member holds. An `ovsdb-server` or `ovs-vswitchd`
 * that hears nothing for one probe interval sends an echo and drops the
 * connection if that goes unanswered for another; a member busy with a burst
 * from a thousand hosts answers late, and a dropped host reconnects, re-reads
 * and re-binds, which is more work still (issue 17). OVN raises the probes of
 * its databases and controllers at scale (`ovn-remote-probe-interval`,
 * `northd_probe_interval`, 120 s for `ovn-*ctl` daemons); here the value grows
 * with the number of hosts connected to the member.
 *
 * The probe moves in steps (the floor doubled until the ceiling), up as soon
 * as the fleet needs the next step and down only once the fleet has shrunk
 * well below it (hysteresis), so hosts joining or leaving one by one rewrite
 * every host's Manager and Controller rows a handful of times, not per host.
 */

export interface ProbePolicy {
  /** Probe with no host, and the first step (ms). */
  readonly minMs: number;
  /** Largest probe asked for, whatever the fleet (ms). */
  readonly maxMs: number;
  /** What each connected host adds to the probe the fleet needs (ms), before rounding up to a step. */
  readonly perHostMs: number;
}

/** 5 s (OVS's own default) up to 60 s; 20 ms per host: 5 s up to 250 hosts, 10 s up to 500, 20 s up to 1,000, 40 s up to 2,000. */
export const DEFAULT_PROBE_POLICY: ProbePolicy = { minMs: 5000, maxMs: 60_000, perHostMs: 20 };

/** A host count at most this fraction of the one that needs the current step lets the probe come down. */
const SHRINK_FRACTION = 2 / 3;

/** The smallest step (minMs·2^k, capped at maxMs) of at least hosts·perHostMs. */
export function probeStepFor(hosts: number, policy: ProbePolicy): number {
  const wantMs = Math.max(0, hosts) * policy.perHostMs;
  let stepMs = policy.minMs;
  while (stepMs < wantMs && stepMs < policy.maxMs) stepMs *= 2;
  return Math.min(stepMs, policy.maxMs);
}

/**
 * The probe to ask for once `hosts` are connected, given the one asked for now:
 * up to the step the fleet needs at once; down only when a fleet half again as
 * large would still fit a lower step.
 */
export function nextProbeMs(currentMs: number, hosts: number, policy: ProbePolicy): number {
  const needMs = probeStepFor(hosts, policy);
  if (needMs >= currentMs) return needMs;
  const withMarginMs = probeStepFor(Math.ceil(hosts / SHRINK_FRACTION), policy);
  return withMarginMs < currentMs ? withMarginMs : currentMs;
}

