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

export const problemResponses = {
  400: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  503: { $ref: 'Problem#' },
} as const;
