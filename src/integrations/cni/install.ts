/**
 * `plexusctl install cni` (SPEC §7, §11): puts a `plexus-cni` executable into
 * the runtime's plugin directory (default /opt/cni/bin) and, when asked, a
 * network configuration list into its config directory (default /etc/cni/net.d).
 * The executable is a small launcher that runs this installation's entry point
 * with the Node that runs the installer.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';

export interface InstallCniOptions {
  readonly binDir?: string;
  /** Write `<confDir>/<priority>-<network>.conflist` too. */
  readonly confDir?: string;
  readonly network?: string;
  readonly plexusUrl?: string;
  readonly ovsdb?: string;
  readonly tokenFile?: string;
  /** TLS files of an https plexusUrl, written as caFile/certFile/keyFile. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly cniVersion?: string;
}

export interface InstallCniResult {
  readonly plugin: string;
  readonly conflist: string | undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The launcher script: runs the built entry, or the TypeScript source through tsx when installed from sources. */
export function cniLauncher(entry = join(__dirname, __filename.endsWith('.ts') ? 'main.ts' : 'main.js')): string {
  const node = shellQuote(process.execPath);
  const tsx = entry.endsWith('.ts') ? ` --require ${shellQuote(require.resolve('tsx/cjs'))}` : '';
  return `#!/bin/sh\n# plexus-cni: installed by plexusctl install cni\nexec ${node}${tsx} ${shellQuote(entry)} "$@"\n`;
}

export function installCni(options: InstallCniOptions = {}): InstallCniResult {
  const binDir = options.binDir ?? DEFAULT_CNI_BIN_DIR;
  mkdirSync(binDir, { recursive: true });
  const plugin = join(binDir, 'plexus-cni');
  // Write beside and rename, so a runtime never executes a half-written file.
  const tmp = `${plugin}.tmp-${process.pid}`;
  writeFileSync(tmp, cniLauncher());
  chmodSync(tmp, 0o755);
  renameSync(tmp, plugin);
  let conflist: string | undefined;
  if (options.network) {
    const confDir = options.confDir ?? DEFAULT_CNI_CONF_DIR;
    mkdirSync(confDir, { recursive: true });
    conflist = join(confDir, `50-${options.network.replace(/[^A-Za-z0-9_.-]/g, '_')}.conflist`);
    const version = options.cniVersion ?? '1.0.0';
    writeFileSync(conflist, JSON.stringify({
      cniVersion: version,
      name: options.network,
      plugins: [{
        type: 'plexus-cni',
        network: options.network,
        plexusUrl: options.plexusUrl ?? 'http://127.0.0.1:8181',
        ...(options.ovsdb ? { ovsdb: options.ovsdb } : {}),
        ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}),
        ...(options.caFile ? { caFile: resolve(options.caFile) } : {}),
        ...(options.certFile ? { certFile: resolve(options.certFile) } : {}),
        ...(options.keyFile ? { keyFile: resolve(options.keyFile) } : {}),
      }],
    }, null, 2) + '\n');
  }
  return { plugin, conflist };
}
