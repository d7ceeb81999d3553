/**
 * Layering rules, checked by dependency-cruiser in `npm test` (test/layering.test.ts)
 * and by `npm run lint:layers`. Data flows one way (docs/ARCHITECTURE.md):
 *
 *   protocols/common ◀ protocols/{packet,ovsdb,openflow}
 *        ▲
 *   src/{log,metrics,config} ◀ store ◀ pipeline ◀ compiler ◀ reconciler ◀ cluster ◀ southbound ◀ overlay ◀ api ◀ daemon
 *
 * Each layer lists what it may import (besides itself and npm/Node modules);
 * anything else in the repository is a wrong-way import and fails the build.
 * The sandbox (real OVS hosts for tests, the demo and benchmarks) sits beside the
 * daemon: nothing in production imports it, and it does not import the daemon.
 */
const FOUNDATION = ['^protocols/common/'];
const PROTOCOLS = ['^protocols/'];
const BASICS = [...PROTOCOLS, '^src/log\\.ts$', '^src/metrics\\.ts$', '^src/os/'];

/** layer (a path regex) → the paths it may import. */
const LAYERS = {
  '^protocols/common/': [],
  '^protocols/packet/': FOUNDATION,
  '^protocols/ovsdb/': FOUNDATION,
  '^protocols/openflow/': [...FOUNDATION, '^protocols/packet/'],
  // Processes and pids of the machine the daemon runs on (the embedded etcd).
  '^src/os/': PROTOCOLS,
  '^src/log\\.ts$': PROTOCOLS,
  '^src/metrics\\.ts$': [...PROTOCOLS, '^src/log\\.ts$'],
  '^src/config\\.ts$': [...PROTOCOLS, '^src/log\\.ts$'],
  '^src/store/': BASICS,
  '^src/pipeline/': BASICS,
  '^src/compiler/': [...BASICS, '^src/store/', '^src/pipeline/'],
  '^src/reconciler/': [...BASICS, '^src/pipeline/'],
  '^src/cluster/': [...BASICS, '^src/store/'],
  '^src/southbound/': [...BASICS, '^src/store/', '^src/cluster/'],
  '^src/overlay/': [...BASICS, '^src/store/', '^src/pipeline/', '^src/compiler/', '^src/reconciler/', '^src/cluster/', '^src/southbound/'],
  '^src/api/': [...BASICS, '^src/config\\.ts$', '^src/store/', '^src/pipeline/', '^src/compiler/', '^src/cluster/'],
  '^src/cli/': [...BASICS, '^src/config\\.ts$', '^src/store/', '^src/api/', '^src/integrations/cni/install\\.ts$'],
  // Docker, CNI and VM integrations: clients of the REST API and of the host's OVS, never of the daemon's insides.
  '^src/integrations/': [...BASICS, '^src/store/model\\.ts$', '^src/store/ipam\\.ts$', '^src/cli/client\\.ts$'],
  '^src/daemon/': ['^protocols/', '^src/(?!sandbox/|cli/)'],
  '^src/sandbox/': ['^protocols/', '^src/(?!daemon/)'],
  // Benchmarks reuse the tests' switch and workload fixtures.
  '^bench/': ['^protocols/', '^src/', '^test/support/'],
  '^scripts/': ['^protocols/', '^src/', '^bench/'],
};

const REPO = '^(src|protocols|bench|test|scripts)/';

module.exports = {
  forbidden: [
    ...Object.entries(LAYERS).map(([layer, allowed]) => ({
      name: `layer:${layer.replace(/[\^\\$]/g, '')}`,
      comment: `${layer} may import only ${allowed.join(', ') || 'nothing in the repository'}`,
      severity: 'error',
      from: { path: layer },
      to: { path: REPO, pathNot: [layer, ...allowed] },
    })),
    {
      name: 'no-circular',
      comment: 'a cycle hides which module depends on which',
      severity: 'error',
      from: { path: '^(src|protocols)/' },
      // A route file importing its server's types is no runtime cycle.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-orphans',
      comment: 'a production module nothing imports is dead code',
      severity: 'error',
      from: { orphan: true, path: '^(src|protocols)/', pathNot: ['^src/daemon/main\\.ts$', '^src/cli/plexusctl\\.ts$', '^src/integrations/(cni|docker)/main\\.ts$', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
