/**
 * JSON schemas of the security policy resources (SPEC §3, §6, §11):
 * /v1/security-groups (rules as sub-resources) and /v1/qos-policies. What a
 * schema cannot say (a port range on ICMP, a CIDR of the wrong family) is
 * checked by store/security-rules.ts, which names the field the same way.
 */

const revision = { type: 'string', description: 'etcd mod revision of the record: send it as If-Match' } as const;
const timestamps = { createdAt: { type: 'string' }, updatedAt: { type: 'string' } } as const;
const name = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' } as const;
const ref = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[^/\\s]+$' } as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const byte = { type: 'integer', minimum: 0, maximum: 255 } as const;

const ruleProperties = {
  direction: { type: 'string', enum: ['ingress', 'egress'] },
  ethertype: { type: 'string', enum: ['IPv4', 'IPv6'], default: 'IPv4' },
  protocol: { oneOf: [{ type: 'string', enum: ['tcp', 'udp', 'icmp', 'icmpv6'] }, { ...byte }], description: 'absent: any protocol' },
  portMin: { ...port, description: 'tcp/udp destination port range start' },
  portMax: { ...port, description: 'tcp/udp destination port range end (default portMin)' },
  icmpType: { ...byte, description: 'icmp/icmpv6 only' },
  icmpCode: { ...byte, description: 'icmp/icmpv6 only, with icmpType' },
  remoteCidr: { type: 'string', minLength: 3, maxLength: 64, description: 'CIDR of the rule\'s family' },
  remoteGroup: { ...ref, description: 'security group id or name in the same tenant (the group itself allowed)' },
} as const;

/** A rule in a request. */
export const ruleBody = {
  type: 'object',
  properties: { ...ruleProperties, id: { ...ref, description: 'generated when omitted' } },
  required: ['direction'],
  additionalProperties: false,
} as const;

export const securityGroupRuleSchema = {
  $id: 'SecurityGroupRule',
  type: 'object',
  properties: { id: { type: 'string' }, ...ruleProperties, remoteGroup: { type: 'string', description: 'security group id' } },
  required: ['id', 'direction', 'ethertype'],
} as const;

export const securityGroupSchema = {
  $id: 'SecurityGroup',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    tenant: { type: 'string' },
    description: { type: 'string' },
    rules: { type: 'array', items: { $ref: 'SecurityGroupRule#' } },
    ...timestamps,
    revision,
  },
  required: ['id', 'name', 'tenant', 'rules'],
} as const;

const rate = {
  type: 'object',
  properties: { rateKbps: { type: 'integer', minimum: 1, maximum: 100_000_000 }, burstKb: { type: 'integer', minimum: 1, maximum: 100_000_000 } },
  required: ['rateKbps'],
  additionalProperties: false,
} as const;

export const qosPolicySchema = {
  $id: 'QosPolicy',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    tenant: { type: 'string' },
    egress: rate,
    ingress: rate,
    dscp: { type: 'integer' },
    ...timestamps,
    revision,
  },
  required: ['id', 'name', 'tenant'],
} as const;

export const policySchemas = [securityGroupRuleSchema, securityGroupSchema, qosPolicySchema] as const;

export const createSecurityGroupBody = {
  type: 'object',
  properties: {
    name,
    tenant: { ...name, description: "tenant id (default: the token's, else \"default\")" },
    id: { ...ref, description: 'generated when omitted' },
    description: { type: 'string', maxLength: 1024 },
    rules: { type: 'array', items: ruleBody, maxItems: 200, description: 'without an egress rule, the group also allows all egress (IPv4 and IPv6)' },
  },
  required: ['name'],
  additionalProperties: false,
} as const;

export const patchSecurityGroupBody = {
  type: 'object',
  properties: { name, description: { type: 'string', maxLength: 1024 } },
  additionalProperties: false,
  minProperties: 1,
} as const;

export const ruleParams = {
  type: 'object',
  properties: { id: ref, rule: ref },
  required: ['id', 'rule'],
  additionalProperties: false,
} as const;

export const createQosPolicyBody = {
  type: 'object',
  properties: {
    name,
    tenant: { ...name, description: "tenant id (default: the token's, else \"default\")" },
    id: { ...ref, description: 'generated when omitted' },
    egress: { ...rate, description: 'what the endpoint sends: an OpenFlow meter' },
    ingress: { ...rate, description: 'what the endpoint receives: an OpenFlow meter' },
    dscp: { type: 'integer', minimum: 0, maximum: 63, description: 'DSCP written into what the endpoint sends' },
  },
  required: ['name'],
  additionalProperties: false,
} as const;

export const patchQosPolicyBody = {
  type: 'object',
  properties: {
    name,
    egress: { ...rate, type: ['object', 'null'] },
    ingress: { ...rate, type: ['object', 'null'] },
    dscp: { type: ['integer', 'null'], minimum: 0, maximum: 63 },
  },
  additionalProperties: false,
  minProperties: 1,
} as const;
