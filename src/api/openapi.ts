/**
 * How /v1/openapi.json is generated from the route schemas (@fastify/swagger):
 * components named after each schema's $id (not def-0...), an operationId on
 * every operation, the bearer scheme (SPEC §6), error responses typed
 * application/problem+json. `npm test` lints the result (test/src/api/openapi.test.ts).
 */
import type { SwaggerOptions } from '@fastify/swagger';

export function describeOpenApi(version: string, hasTokens: boolean): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Plexus API',
        version,
        description:
          'Plexus SDN controller REST API (v1): tenants, networks, subnets, endpoints, hosts and the cluster. ' +
          'Errors are RFC 7807 problem documents. With tokens configured every call but health, ready and this document needs a bearer token.' +
          (hasTokens ? '' : ' (This member has no tokens configured: it serves loopback only, unauthenticated.)'),
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      servers: [{ url: '/', description: 'this plexusd member' }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from the plexusd config file (api-tokens)' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'status', description: 'liveness and readiness' },
        { name: 'tenants', description: 'who owns networks' },
        { name: 'networks', description: 'L2 segments with a VNI' },
        { name: 'subnets', description: 'address ranges of a network, with IPAM' },
        { name: 'endpoints', description: 'workload NICs and where they are attached' },
        { name: 'hosts', description: 'Open vSwitch hosts learned over OVSDB' },
        { name: 'cluster', description: 'members and datapath masters' },
        { name: 'routers', description: 'distributed routers: interfaces on subnets, static routes' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `Schema${i}`),
    },
  };
}
