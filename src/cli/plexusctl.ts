/**
 * plexusctl: the command-line client of the Plexus REST API (SPEC §6).
 * Reads PLEXUS_URL and PLEXUS_TOKEN; prints tables, JSON or YAML.
 */
import { Command, Option } from 'commander';
import type { HostRecord } from '../store/model';
import { ApiClient, CliError } from './client';
import { addInstallCommands } from './install-command';
import { addModelCommands } from './model-commands';
import { render, type Column, type OutputFormat } from './output';

const hostColumns: readonly Column<HostRecord>[] = [
  { header: 'ID', get: (h) => h.id },
  { header: 'ENCAP-IP', get: (h) => h.encapIp },
  { header: 'DATAPATH', get: (h) => h.datapathId },
  { header: 'OVSDB', get: (h) => (h.ovsdbConnected ? 'up' : 'down') },
  { header: 'OPENFLOW', get: (h) => (h.ofConnected ? 'up' : 'down') },
  { header: 'MASTER', get: (h) => h.master },
  { header: 'STATUS', get: (h) => h.status },
  { header: 'REASON', get: (h) => h.reason },
];

export function buildCli(out: (text: string) => void): Command {
  const program = new Command('plexusctl')
    .description('Command-line client for the Plexus SDN controller')
    .addOption(new Option('--url <URL>', 'plexusd API base URL').env('PLEXUS_URL').default('http://127.0.0.1:8181'))
    .addOption(new Option('--token <TOKEN>', 'bearer token').env('PLEXUS_TOKEN'))
    .addOption(new Option('-o, --output <FORMAT>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .showHelpAfterError()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  plexusctl network create web --cidr 192.168.200.0/24',
        '  plexusctl endpoint create --network web --name c1 --kind container',
        '  plexusctl endpoint show <id> -o yaml',
        '  plexusctl network list -o json',
        '  plexusctl host list',
        '  PLEXUS_URL=http://10.0.0.5:8181 plexusctl host delete h2',
        '',
        'Each command has its own --help (plexusctl network create --help).',
      ].join('\n'),
    );

  const client = (): ApiClient => {
    const o = program.opts<{ url: string; token?: string }>();
    return new ApiClient(o.url, o.token);
  };
  const format = (): OutputFormat => program.opts<{ output: OutputFormat }>().output;

  addModelCommands(program, { client, format, out });
  addInstallCommands(program, out);

  const host = program.command('host').description('hosts learned over OVSDB (read-only, plus decommission)');
  host
    .command('list')
    .description('list hosts with their connection state and readiness')
    .action(async () => out(render(await client().listAll<HostRecord>('v1/hosts'), format(), hostColumns)));
  host
    .command('show')
    .argument('<id>', 'host id (the OVS system-id)')
    .description('show one host')
    .action(async (id: string) => out(render(await client().call<HostRecord>('GET', `v1/hosts/${encodeURIComponent(id)}`), format(), hostColumns)));
  host
    .command('delete')
    .argument('<id>', 'host id')
    .description('decommission a host: forget it and remove the tunnels toward it from every other host')
    .action(async (id: string) => {
      await client().call('DELETE', `v1/hosts/${encodeURIComponent(id)}`);
      out(`host ${id} deleted`);
    });

  program
    .command('health')
    .description('show whether plexusd is alive and ready')
    .action(async () => {
      const c = client();
      const health = await c.call<Record<string, unknown>>('GET', 'v1/health');
      const ready = await c.call<Record<string, unknown>>('GET', 'v1/ready').catch((err: CliError) => ({ status: err.message }));
      out(render({ ...health, ready: (ready as { status?: unknown }).status }, format(), []));
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildCli((text) => process.stdout.write(text + '\n'));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`plexusctl: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
