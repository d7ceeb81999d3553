/**
 * plexusctl: the command-line client of the Plexus REST API (SPEC §6).
 * Reads PLEXUS_URL, PLEXUS_TOKEN (or PLEXUS_TOKEN_FILE) and PLEXUS_CACERT; prints
 * tables, JSON or YAML. Errors are one line on stderr, never a stack trace; the
 * exit code says which kind (client.ts EXIT).
 */
import { Command, CommanderError, Option } from 'commander';
import { generateToken } from '../api/auth';
import type { HostRecord } from '../store/model';
import { ApiClient, ClientError, EXIT } from './client';
import { addInstallCommands } from './install-command';
import { addModelCommands } from './model-commands';
import { addFipCommands } from './fip-commands';
import { addPolicyCommands } from './policy-commands';
import { addRouterCommands } from './router-commands';
import { render, type Column, type OutputFormat } from './output';
import { addTraceCommands } from './trace-commands';

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

interface MemberRow {
  id: string;
  api: string;
  openflow: string;
  ovsdb: string;
  datapaths: string[];
}
const memberColumns: readonly Column<MemberRow>[] = [
  { header: 'MEMBER', get: (m) => m.id },
  { header: 'API', get: (m) => m.api },
  { header: 'OPENFLOW', get: (m) => m.openflow },
  { header: 'OVSDB', get: (m) => m.ovsdb },
  { header: 'DATAPATHS', get: (m) => m.datapaths.length },
  { header: 'HOSTS', get: (m) => m.datapaths },
];

export function buildCli(out: (text: string) => void): Command {
  const program = new Command('plexusctl')
    .description('Command-line client for the Plexus SDN controller')
    .exitOverride()
    .addOption(new Option('--url <URL>', 'plexusd API base URL').env('PLEXUS_URL').default('http://127.0.0.1:8181'))
    .addOption(new Option('--token <TOKEN>', 'bearer token').env('PLEXUS_TOKEN'))
    .addOption(new Option('--token-file <FILE>', 'file whose first line is the bearer token').env('PLEXUS_TOKEN_FILE'))
    .addOption(new Option('--cacert <FILE>', 'PEM CA that signed the server certificate (https:// URLs)').env('PLEXUS_CACERT'))
    .addOption(new Option('--cert <FILE>', 'PEM client certificate, when plexusd asks for one').env('PLEXUS_CERT'))
    .addOption(new Option('--key <FILE>', 'PEM private key of --cert').env('PLEXUS_KEY'))
    .addOption(new Option('-o, --output <FORMAT>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .showHelpAfterError()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  plexusctl network create web --cidr 192.168.200.0/24',
        '  plexusctl endpoint create --network web --name c1 --kind container --wait',
        '  plexusctl endpoint show c1 -o yaml',
        '  plexusctl endpoint list --selector app=web',
        '  plexusctl network update web --mtu 1400 --if-match \'"24"\'',
        '  plexusctl host list',
        '  plexusctl cluster',
        '  PLEXUS_URL=https://10.0.0.5:8181 PLEXUS_TOKEN=... plexusctl --cacert ca.pem network list',
        '',
        'Exit codes: 0 success, 1 the server refused the request (or --wait gave up),',
        '            2 bad command line or URL, 3 plexusd unreachable (refused, timeout, TLS).',
        '',
        'Each command has its own --help (plexusctl network create --help).',
      ].join('\n'),
    );

  const client = (): ApiClient => {
    const o = program.opts<{ url: string; token?: string; tokenFile?: string; cacert?: string; cert?: string; key?: string }>();
    return new ApiClient({
      url: o.url,
      ...(o.token ? { token: o.token } : {}),
      ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
      ...(o.cacert ? { cacert: o.cacert } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
    });
  };
  const format = (): OutputFormat => program.opts<{ output: OutputFormat }>().output;

  addModelCommands(program, { client, format, out });
  addTraceCommands(program, { client, format, out });
  addInstallCommands(program, out);
  addRouterCommands(program, { client, format, out });
  addFipCommands(program, { client, format, out });
  addPolicyCommands(program, { client, format, out });

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
    .command('cluster')
    .description('cluster members, their addresses and the datapaths each masters')
    .action(async () => {
      const view = await client().call<{ member: string; members: MemberRow[]; masters: Record<string, unknown> }>('GET', 'v1/cluster');
      out(format() === 'table' ? render(view.members, 'table', memberColumns) : render(view, format(), []));
    });

  program
    .command('health')
    .description('show whether plexusd is alive and ready')
    .action(async () => {
      const c = client();
      const health = await c.call<Record<string, unknown>>('GET', 'v1/health');
      const ready = await c.call<Record<string, unknown>>('GET', 'v1/ready').catch((err: ClientError) => ({ status: err.message }));
      out(render({ ...health, ready: (ready as { status?: unknown }).status }, format(), []));
    });

  const token = program.command('token').description('API bearer tokens (SPEC §6)');
  token
    .command('new')
    .option('--name <NAME>', 'who holds it (shown in the audit log)', 'admin')
    .option('--tenant <TENANT>', 'scope the token to one tenant (default: an admin token)')
    .description("print a new random token and the api-tokens entry for plexusd's config file (nothing is sent anywhere)")
    .action((o: { name: string; tenant?: string }) => {
      const t = generateToken();
      const scope = o.tenant ? `tenant: ${o.tenant}` : 'admin: true';
      out(`token: ${t.token}\n\n# in plexus.yaml:\napi-tokens:\n  - { name: ${o.name}, ${scope}, sha256: ${t.sha256} }`);
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildCli((text) => process.stdout.write(text + '\n'));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed the message (and the help) already.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ClientError) {
      process.stderr.write(`plexusctl: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`plexusctl: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env['PLEXUS_DEBUG']) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return EXIT.refused;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
