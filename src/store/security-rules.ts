/**
 * Checks of security group rules (SPEC §3): a rule is turned into its
 * canonical stored form or refused with the field it breaks named first
 * (`rules[2].portMin: ...`), as the API reports it (400).
 */
import { randomUUID } from 'node:crypto';
import { AddressError, parseCidr } from './ipam';
import { InvalidRequestError } from './model-errors';
import type { RuleEthertype, RuleProtocol, SecurityGroupRule } from './model';

/** A rule as a request gives it: a stored rule's fields (model.ts), the id and ethertype optional, remoteGroup still an id or name. */
export interface RuleInput extends Omit<SecurityGroupRule, 'id' | 'ethertype'> {
  readonly id?: string;
  readonly ethertype?: RuleEthertype;
}

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };
const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOL_NUMBERS).map(([k, v]) => [v, k as RuleProtocol]));

/** IP protocol number of a rule's protocol (undefined = any). */
export function protocolNumberOf(p: RuleProtocol | undefined): number | undefined {
  return p === undefined ? undefined : typeof p === 'number' ? p : PROTOCOL_NUMBERS[p];
}

function fail(field: string, message: string): never {
  throw new InvalidRequestError(`${field}: ${message}`);
}

/**
 * The stored form of a rule: protocol numbers 1/6/17/58 named, a port range
 * only on tcp/udp, ICMP type/code only on icmp/icmpv6 of the right family,
 * a remote CIDR of the rule's family (host bits cleared), at most one remote.
 * `remoteGroup` must already be resolved to a group id by the caller.
 */
export function checkRule(input: RuleInput, field = 'rule'): SecurityGroupRule {
  const ethertype = input.ethertype ?? 'IPv4';
  if (input.direction !== 'ingress' && input.direction !== 'egress') fail(`${field}.direction`, 'must be "ingress" or "egress"');
  if (ethertype !== 'IPv4' && ethertype !== 'IPv6') fail(`${field}.ethertype`, 'must be "IPv4" or "IPv6"');
  let protocol = input.protocol;
  if (typeof protocol === 'number') {
    if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) fail(`${field}.protocol`, `${protocol} is not an IP protocol number (0..255)`);
    protocol = PROTOCOL_NAMES.get(protocol) ?? protocol;
  } else if (protocol !== undefined && PROTOCOL_NUMBERS[protocol] === undefined) {
    fail(`${field}.protocol`, `"${String(protocol)}" is not tcp, udp, icmp, icmpv6 or a number`);
  }
  if (protocol === 'icmp' && ethertype === 'IPv6') fail(`${field}.protocol`, 'icmp is IPv4: use icmpv6 with ethertype IPv6');
  if (protocol === 'icmpv6' && ethertype === 'IPv4') fail(`${field}.protocol`, 'icmpv6 is IPv6: use icmp with ethertype IPv4');
  const hasPorts = input.portMin !== undefined || input.portMax !== undefined;
  if (hasPorts) {
    const which = input.portMin !== undefined ? 'portMin' : 'portMax';
    if (protocol !== 'tcp' && protocol !== 'udp') fail(`${field}.${which}`, `a port range applies to tcp and udp only, not to ${protocol ?? 'any protocol'}`);
    if (input.portMin === undefined) fail(`${field}.portMin`, 'portMax needs portMin');
    const max = input.portMax ?? input.portMin;
    for (const [name, v] of [['portMin', input.portMin], ['portMax', max]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 65535) fail(`${field}.${name}`, `${v} is not a port (1..65535)`);
    }
    if (max < input.portMin) fail(`${field}.portMax`, `${max} is below portMin ${input.portMin}`);
  }
  const hasIcmp = input.icmpType !== undefined || input.icmpCode !== undefined;
  if (hasIcmp) {
    const which = input.icmpType !== undefined ? 'icmpType' : 'icmpCode';
    if (protocol !== 'icmp' && protocol !== 'icmpv6') fail(`${field}.${which}`, `ICMP type and code apply to icmp and icmpv6 only, not to ${protocol ?? 'any protocol'}`);
    if (input.icmpType === undefined) fail(`${field}.icmpCode`, 'icmpCode needs icmpType');
    for (const [name, v] of [['icmpType', input.icmpType], ['icmpCode', input.icmpCode]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 255)) fail(`${field}.${name}`, `${v} is not 0..255`);
    }
  }
  if (input.remoteCidr !== undefined && input.remoteGroup !== undefined) fail(`${field}.remoteGroup`, 'give remoteCidr or remoteGroup, not both');
  let remoteCidr: string | undefined;
  if (input.remoteCidr !== undefined) {
    try {
      const c = parseCidr(input.remoteCidr);
      if ((c.version === 4) !== (ethertype === 'IPv4')) fail(`${field}.remoteCidr`, `${input.remoteCidr} is IPv${c.version}, the rule is ${ethertype}`);
      remoteCidr = c.cidr;
    } catch (err) {
      if (err instanceof AddressError) fail(`${field}.remoteCidr`, err.message);
      throw err;
    }
  }
  return {
    id: input.id ?? randomUUID(),
    direction: input.direction,
    ethertype,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(hasPorts ? { portMin: input.portMin!, portMax: input.portMax ?? input.portMin! } : {}),
    ...(input.icmpType !== undefined ? { icmpType: input.icmpType } : {}),
    ...(input.icmpCode !== undefined ? { icmpCode: input.icmpCode } : {}),
    ...(remoteCidr !== undefined ? { remoteCidr } : {}),
    ...(input.remoteGroup !== undefined ? { remoteGroup: input.remoteGroup } : {}),
  };
}

/** The rules a new group gets, as Neutron's: every egress, IPv4 and IPv6. */
export function defaultEgressRules(): SecurityGroupRule[] {
  return [checkRule({ direction: 'egress', ethertype: 'IPv4' }), checkRule({ direction: 'egress', ethertype: 'IPv6' })];
}
