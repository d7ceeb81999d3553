/** `plexusctl install cni` (SPEC §7, §11): installs the plexus-cni plugin, and a network configuration when --network is given. */
import type { Command } from 'commander';
import { DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_CONF_DIR, installCni } from '../integrations/cni/install';

export function addInstallCommands(program: Command, out: (text: string) => void): void {
  const install = program.command('install').description('install integrations on this host');
  install
    .command('cni')
    .description('install the plexus-cni plugin (and, with --network, a CNI network configuration for it)')
    .option('--dir <DIR>', 'CNI plugin directory', DEFAULT_CNI_BIN_DIR)
    .option('--conf-dir <DIR>', 'CNI configuration directory', DEFAULT_CNI_CONF_DIR)
    .option('--network <NAME>', 'also write <conf-dir>/50-<NAME>.conflist for this Plexus network')
    .option('--ovsdb <TARGET>', 'this host\'s OVSDB (ovs-vsctl --db form), written into the configuration')
    .option('--token-file <FILE>', 'file with the bearer token, written into the configuration')
    .option('--cni-version <V>', 'cniVersion of the configuration', '1.0.0')
    .action((o: { dir: string; confDir: string; network?: string; ovsdb?: string; tokenFile?: string; cniVersion: string }) => {
      // plexusctl's own --token-file has the same name and takes the flag wherever it stands: use either.
      const global = program.opts<{ url: string; tokenFile?: string; cacert?: string; cert?: string; key?: string }>();
      const url = global.url;
      const tokenFile = o.tokenFile ?? global.tokenFile;
      const r = installCni({
        binDir: o.dir,
        confDir: o.confDir,
        plexusUrl: url,
        cniVersion: o.cniVersion,
        ...(o.network ? { network: o.network } : {}),
        ...(o.ovsdb ? { ovsdb: o.ovsdb } : {}),
        ...(tokenFile ? { tokenFile } : {}),
        // plexusctl's --cacert/--cert/--key are what plexus-cni needs too for an https --url.
        ...(global.cacert ? { caFile: global.cacert } : {}),
        ...(global.cert ? { certFile: global.cert } : {}),
        ...(global.key ? { keyFile: global.key } : {}),
      });
      out(`installed ${r.plugin}`);
      if (r.conflist) out(`wrote ${r.conflist}`);
    });
}
