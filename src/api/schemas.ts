/**
 * JSON schemas of the REST API (SPEC §6, §11). Fastify validates requests and
 * serializes responses with them, and /v1/openapi.json is generated from them:
 * one source of truth.
 */

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 7807 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail'],
  additionalProperties: true,
} as const;

export const hostSchema = {
  $id: 'Host',
  type: 'object',
  properties: {
    id: { type: 'string', description: 'OVS system-id' },
    encapIp: { type: ['string', 'null'], description: 'tunnel endpoint (external_ids:plexus-encap-ip)' },
    datapathId: { type: ['string', 'null'], description: 'br-int datapath id, 16 hex digits' },
    datapathType: { type: 'string' },
    ovsVersion: { type: ['string', 'null'] },
    ovsdbConnected: { type: 'boolean' },
    ofConnected: { type: 'boolean' },
    master: { type: ['string', 'null'], description: 'member that masters the datapath' },
    status: { type: 'string', enum: ['ready', 'configuring', 'not-ready', 'disconnected'] },
    reason: { type: ['string', 'null'], description: 'why the host is not ready' },
    joinedAt: { type: 'string' },
    updatedAt: { type: 'string' },
    ovsdbUuid: { type: ['string', 'null'], description: 'the _uuid of the Open_vSwitch row of the database holding this system-id' },
    conflict: { type: ['string', 'null'], description: 'another Open vSwitch claiming this system-id, refused: why' },
    revision: { type: 'string', description: 'etcd revision of the record (for If-Match)' },
  },
  required: ['id', 'encapIp', 'ovsdbConnected', 'ofConnected', 'status', 'master'],
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[^/\\s]+$' } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    next: { type: 'string', maxLength: 512, description: 'cursor from the previous page' },
  },
  additionalProperties: false,
} as const;

export function listOf(ref: string) {
  return {
    type: 'object',
    properties: {
      items: { type: 'array', items: { $ref: `${ref}#` } },
      next: { type: 'string', description: 'pass as ?next= for the following page' },
    },
    required: ['items'],
  } as const;
}

/** An error response: RFC 7807 problem details, typed application/problem+json (SPEC §6). */
function problem(description: string) {
  return { description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } } as const;
}

export const problemResponses = {
  400: problem('the request is malformed or a field is invalid (the problem names it)'),
  401: problem('no or an unknown bearer token'),
  403: problem('the token may not do this (tenant scope)'),
  404: problem('no such resource (or not visible to this token)'),
  414: problem('the request URL is longer than 8192 characters'),
  503: problem('etcd is not reachable: retry'),
} as const;

// ---------------------------------------------------------------- model resources (SPEC §3, §11)

const revision = { type: 'string', description: 'etcd mod revision of the record: send it as If-Match' } as const;
const timestamps = { createdAt: { type: 'string' }, updatedAt: { type: 'string' } } as const;
const name = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' } as const;
const clientId = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[^/\\s]+$' } as const;
const address = { type: 'string', minLength: 2, maxLength: 64, description: 'IPv4 or IPv6 address' } as const;
const pool = {
  type: 'object',
  properties: { start: address, end: address },
  required: ['start', 'end'],
  additionalProperties: false,
} as const;
const route = {
  type: 'object',
  properties: { destination: { type: 'string', maxLength: 64, description: 'CIDR' }, nexthop: address },
  required: ['destination', 'nexthop'],
  additionalProperties: false,
} as const;
const labels = { type: 'object', additionalProperties: { type: 'string', maxLength: 253 }, maxProperties: 64, propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$' } } as const;
/** Labels in a JSON merge patch (RFC 7386): null removes the label. */
const labelsPatch = { type: 'object', additionalProperties: { type: ['string', 'null'], maxLength: 253 }, maxProperties: 64, propertyNames: labels.propertyNames } as const;
/** Endpoint names are addressable like ids (GET /v1/endpoints/{name}): no '/', no whitespace. */
const endpointName = { type: 'string', maxLength: 253, pattern: '^[^/\\s]*$', description: 'unique in its tenant when set; accepted wherever the id is' } as const;
const groups = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 253 }, maxItems: 64 } as const;
const kind = { type: 'string', enum: ['vm', 'container', 'other'] } as const;
/** A QoS policy id or name (SPEC §3); null: none (the network's applies to an endpoint). */
const qosPolicyRef = { type: ['string', 'null'], minLength: 1, maxLength: 253, description: 'QoS policy id or name; null removes it' } as const;
const mtu = { type: 'integer', minimum: 576, maximum: 9000 } as const;
const status = { type: 'string', enum: ['pending', 'bound', 'installed', 'down'] } as const;

export const tenantSchema = {
  $id: 'Tenant',
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' }, revision },
  required: ['id', 'name'],
} as const;

export const networkSchema = {
  $id: 'Network',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    tenant: { type: 'string' },
    vni: { type: 'integer', description: 'VXLAN network identifier, unique, allocated' },
    mtu: { type: 'integer' },
    external: { type: 'boolean', description: 'an external network: reaches hosts through plexus-bridge-mappings' },
    physicalNetwork: { type: 'string', description: 'the name hosts map to a bridge (external networks)' },
    qosPolicy: { type: ['string', 'null'], description: 'QoS policy of endpoints without their own' },
    ...timestamps,
    revision,
  },
  required: ['id', 'name', 'tenant', 'vni', 'mtu'],
} as const;

export const subnetSchema = {
  $id: 'Subnet',
  type: 'object',
  properties: {
    id: { type: 'string' },
    network: { type: 'string', description: 'network id' },
    cidr: { type: 'string' },
    ipVersion: { type: 'integer', enum: [4, 6] },
    gateway: { type: ['string', 'null'] },
    allocationPools: { type: 'array', items: pool },
    dhcp: { type: 'boolean' },
    dnsServers: { type: 'array', items: { type: 'string' } },
    routes: { type: 'array', items: route },
    ...timestamps,
    revision,
  },
  required: ['id', 'network', 'cidr', 'ipVersion', 'gateway', 'allocationPools', 'dhcp'],
} as const;

const endpointProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  network: { type: 'string', description: 'network id' },
  mac: { type: 'string' },
  ips: { type: 'array', items: { type: 'string' } },
  kind,
  labels,
  securityGroups: { type: 'array', items: { type: 'string' } },
  qosPolicy: { type: ['string', 'null'], description: 'QoS policy id (else the network\'s)' },
  ...timestamps,
  revision,
  status: { ...status, description: "from the endpoint's binding; pending until a host reports it" },
  host: { type: ['string', 'null'] },
  ofport: { type: ['integer', 'null'] },
} as const;

export const endpointSchema = {
  $id: 'Endpoint',
  type: 'object',
  properties: endpointProperties,
  required: ['id', 'network', 'mac', 'ips'],
} as const;

/** GET /v1/endpoints/{id}: the drill-down (SPEC §6). */
export const endpointDetailSchema = {
  $id: 'EndpointDetail',
  type: 'object',
  properties: {
    ...endpointProperties,
    ifaceName: { type: ['string', 'null'] },
    statusHistory: {
      type: 'array',
      items: { type: 'object', properties: { status, at: { type: 'string' }, host: { type: ['string', 'null'] } } },
    },
    flows: { description: 'flows on its host that belong to the endpoint (when available)' },
    routers: {
      description: "routers on the endpoint's subnets and the gateway address each has there",
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, mac: { type: 'string' }, gateway: { type: 'string' }, subnet: { type: 'string' } } },
    },
    floatingIps: {
      description: 'floating IPs assigned to the endpoint (external networks)',
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'string' }, address: { type: 'string' }, fixedIp: { type: 'string' }, network: { type: 'string' } } },
    },
    policy: { description: 'effective security rules (remote groups resolved to addresses), the QoS policy in force, and the flows each produced' },
  },
  required: ['id', 'network', 'mac', 'ips', 'status', 'host', 'ofport'],
} as const;

export const modelSchemas = [tenantSchema, networkSchema, subnetSchema, endpointSchema, endpointDetailSchema] as const;

export const createTenantBody = {
  type: 'object',
  properties: { name, id: { ...name, description: 'defaults to the name' } },
  required: ['name'],
  additionalProperties: false,
} as const;
export const patchTenantBody = { type: 'object', properties: { name }, additionalProperties: false, minProperties: 1 } as const;

export const createNetworkBody = {
  type: 'object',
  properties: {
    id: { ...clientId, description: 'chosen by the client (e.g. plexus-docker: docker-<Docker network id>); generated when absent' },
    name,
    tenant: { ...name, description: `tenant id (default "default")` },
    mtu,
    external: { type: 'boolean', description: 'an external network (SPEC §3); needs physicalNetwork' },
    physicalNetwork: { type: 'string', minLength: 1, maxLength: 40, description: 'name hosts map to a bridge: plexus-bridge-mappings=physnet1:br-ex' },
  },
  required: ['name'],
  additionalProperties: false,
} as const;
export const patchNetworkBody = { type: 'object', properties: { name, mtu, qosPolicy: qosPolicyRef }, additionalProperties: false, minProperties: 1 } as const;

export const createSubnetBody = {
  type: 'object',
  properties: {
    network: { ...clientId, description: 'network id or name' },
    cidr: { type: 'string', minLength: 3, maxLength: 64 },
    gateway: { type: ['string', 'null'], maxLength: 64, description: 'default: the first host address; null: no gateway' },
    dhcp: { type: 'boolean', default: true },
    allocationPools: { type: 'array', items: pool, maxItems: 64 },
    dnsServers: { type: 'array', items: address, maxItems: 16 },
    routes: { type: 'array', items: route, maxItems: 128 },
  },
  required: ['network', 'cidr'],
  additionalProperties: false,
} as const;
export const patchSubnetBody = {
  type: 'object',
  properties: { dhcp: { type: 'boolean' }, dnsServers: createSubnetBody.properties.dnsServers, routes: createSubnetBody.properties.routes },
  additionalProperties: false,
  minProperties: 1,
} as const;

export const createEndpointBody = {
  type: 'object',
  properties: {
    network: { ...clientId, description: 'network id or name' },
    id: { ...clientId, description: 'client-chosen id (e.g. the OVS iface-id); generated when omitted' },
    name: endpointName,
    mac: { type: 'string', maxLength: 17, description: 'generated (locally administered) when omitted' },
    ips: { type: 'array', items: address, maxItems: 16, description: 'omitted: one address allocated per subnet' },
    kind,
    securityGroups: groups,
    qosPolicy: qosPolicyRef,
    labels,
  },
  required: ['network'],
  additionalProperties: false,
} as const;
export const patchEndpointBody = {
  type: 'object',
  properties: { name: endpointName, labels, securityGroups: groups, qosPolicy: qosPolicyRef },
  additionalProperties: false,
  minProperties: 1,
} as const;
/** PATCH with application/merge-patch+json (RFC 7386): labels merge, null deletes. */
export const mergePatchEndpointBody = {
  type: 'object',
  properties: { name: { ...endpointName, type: ['string', 'null'] }, labels: labelsPatch, securityGroups: { ...groups, type: ['array', 'null'] }, qosPolicy: qosPolicyRef },
  additionalProperties: false,
  minProperties: 1,
} as const;

export const networkFilterQuery = {
  type: 'object',
  properties: { ...listQuery.properties, network: { type: 'string', maxLength: 253, description: 'network id or name' } },
  additionalProperties: false,
} as const;

export const endpointListQuery = {
  type: 'object',
  properties: {
    ...networkFilterQuery.properties,
    labelSelector: { type: 'string', maxLength: 1024, description: 'comma-separated requirements: key=value, key!=value, key (has), !key (has not)' },
  },
  additionalProperties: false,
} as const;

export const tenantFilterQuery = {
  type: 'object',
  properties: { ...listQuery.properties, tenant: { type: 'string', maxLength: 253 } },
  additionalProperties: false,
} as const;

/** Responses of writes: adds 409 (conflict) and 412 (If-Match) to the common problems. */
export const writeProblemResponses = {
  ...problemResponses,
  409: problem('conflicts with what exists (duplicate, in use, exhausted...)'),
  412: problem('If-Match names a revision the record is no longer at'),
} as const;
