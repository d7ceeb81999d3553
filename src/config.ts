/**
 * plexusd configuration (SPEC §11). Every flag is also a YAML key in the file
 * given by `--config` and a `PLEXUS_<FLAG>` environment variable. Precedence:
 * command-line flag > environment > config file > default.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { Command, Option } from 'commander';
import yaml from 'js-yaml';
import { PlexusError } from '../protocols/common/errors';

export class ConfigError extends PlexusError {
  override readonly name = 'ConfigError';
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly dataDir: string;
  /** External etcd endpoints; empty = run the embedded single-member etcd. */
  readonly etcd: readonly string[];
  readonly etcdPrefix: string;
  readonly embeddedEtcdPorts: { readonly client: number; readonly peer: number };
  /** Undefined until resolved from the data dir. */
  readonly memberId: string | undefined;
  readonly listenApi: HostPort;
  readonly listenOpenflow: HostPort;
  readonly listenOvsdb: HostPort;
  readonly advertise: string;
  readonly logLevel: string;
  /** TTL of the member's etcd lease: how long a silent (partitioned) member keeps its datapaths. */
  readonly memberTtlSeconds: number;
  /** Connections one peer address may hold open on the OpenFlow and on the OVSDB listener. */
  readonly maxConnectionsPerAddress: number;
  /** Largest OVSDB message accepted from a host. */
  readonly ovsdbMaxMessageBytes: number;
  /** Bytes all hosts together may hold in OVSDB messages not yet complete. */
  readonly ovsdbMaxBufferedBytes: number;
}

/** One row per setting: flag, YAML key, default, description. The only place settings are declared. */
const SETTINGS = [
  { flag: 'data-dir', arg: 'DIR', def: '/var/lib/plexus', help: 'state of the embedded etcd and the member id' },
  { flag: 'etcd', arg: 'URLS', def: '', help: 'comma-separated external etcd endpoints (default: run an embedded etcd)' },
  { flag: 'etcd-prefix', arg: 'P', def: '/plexus/', help: 'etcd key prefix' },
  { flag: 'embedded-etcd-ports', arg: 'C,P', def: '2379,2380', help: 'client,peer port of the embedded etcd (loopback only)' },
  { flag: 'member-id', arg: 'ID', def: '', help: 'cluster member name (default: generated once, kept in the data dir)' },
  { flag: 'listen-api', arg: 'H:P', def: '0.0.0.0:8181', help: 'REST API and /metrics' },
  { flag: 'listen-openflow', arg: 'H:P', def: '0.0.0.0:6653', help: 'OpenFlow listener (switches connect here)' },
  { flag: 'listen-ovsdb', arg: 'H:P', def: '0.0.0.0:6640', help: 'OVSDB manager listener (hosts connect here)' },
  { flag: 'advertise', arg: 'H', def: '', help: "address written into hosts' controller targets (default: first non-loopback address)" },
  { flag: 'log-level', arg: 'L', def: 'info', help: 'error, warn, info, debug' },
  { flag: 'member-ttl', arg: 'SECONDS', def: '5', help: 'lease TTL: a member silent this long loses its datapaths to the others' },
  { flag: 'max-connections-per-address', arg: 'N', def: '2048', help: 'connections one peer address may hold open on the OpenFlow and on the OVSDB listener (loopback included)' },
  { flag: 'ovsdb-max-message-mib', arg: 'MIB', def: '64', help: 'largest OVSDB message accepted from a host' },
  { flag: 'ovsdb-max-buffered-mib', arg: 'MIB', def: '128', help: 'OVSDB messages not yet complete may hold this much memory, all hosts together' },
] as const;

type SettingName = (typeof SETTINGS)[number]['flag'];

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The commander program for plexusd; exported so `--help` is tested. */
export function buildCommand(): Command {
  const cmd = new Command('plexusd')
    .description('Plexus SDN controller daemon: adopts Open vSwitch hosts over OVSDB and programs them over OpenFlow 1.3')
    .option('--config <FILE>', 'YAML config file; every flag below is also a key (e.g. data-dir: /srv/plexus)')
    .addHelpText(
      'after',
      '\nEvery flag can also be set as PLEXUS_<FLAG> in the environment, e.g. PLEXUS_LOG_LEVEL=debug.\n' +
        'Precedence: flag > environment > config file > default.\n\n' +
        'Hosts join with:  ovs-vsctl set-manager tcp:<plexusd-address>:6640\n' +
        '                  ovs-vsctl set Open_vSwitch . external_ids:plexus-encap-ip=<tunnel ip>',
    )
    .allowExcessArguments(false);
  for (const s of SETTINGS) {
    cmd.addOption(new Option(`--${s.flag} <${s.arg}>`, s.help).default(undefined, s.def || '(see above)'));
  }
  return cmd;
}

/** Parses argv + env + config file into a validated Config. Throws ConfigError with the offending setting. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const cmd = buildCommand().exitOverride();
  cmd.parse([...argv], { from: 'user' });
  const flags = cmd.opts<Record<string, string | undefined>>();

  let file: Record<string, unknown> = {};
  const configPath = flags['config'] ?? env['PLEXUS_CONFIG'];
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configPath}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = yaml.load(text);
    } catch (err) {
      throw new ConfigError(`config file ${configPath} is not valid YAML: ${(err as Error).message}`, { cause: err });
    }
    if (parsed !== undefined && parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`config file ${configPath} must be a YAML mapping of settings`);
    }
    file = (parsed ?? {}) as Record<string, unknown>;
    const known = new Set<string>(SETTINGS.map((s) => s.flag));
    for (const key of Object.keys(file)) {
      if (!known.has(key)) throw new ConfigError(`config file ${configPath}: unknown setting "${key}" (known: ${[...known].join(', ')})`);
    }
  }

  const get = (name: SettingName): string => {
    const fromFlag = flags[camel(name)];
    if (fromFlag !== undefined) return fromFlag;
    const fromEnv = env[`PLEXUS_${name.toUpperCase().replace(/-/g, '_')}`];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = file[name];
    if (fromFile !== undefined && fromFile !== null) return Array.isArray(fromFile) ? fromFile.join(',') : String(fromFile);
    return SETTINGS.find((s) => s.flag === name)!.def;
  };

  const ports = get('embedded-etcd-ports').split(',').map((p) => parsePort(p.trim(), 'embedded-etcd-ports'));
  if (ports.length !== 2) throw new ConfigError(`embedded-etcd-ports: expected "client,peer", got "${get('embedded-etcd-ports')}"`);
  const etcd = get('etcd').split(',').map((u) => u.trim()).filter(Boolean);
  for (const url of etcd) {
    if (!/^https?:\/\/[^/\s]+$/.test(url)) throw new ConfigError(`etcd: "${url}" is not an http(s)://host:port endpoint`);
  }
  let prefix = get('etcd-prefix');
  if (!prefix.startsWith('/')) throw new ConfigError(`etcd-prefix must start with "/": "${prefix}"`);
  if (!prefix.endsWith('/')) prefix += '/';
  const logLevel = get('log-level');
  if (!['error', 'warn', 'info', 'verbose', 'debug', 'silly'].includes(logLevel)) {
    throw new ConfigError(`log-level: unknown level "${logLevel}" (error, warn, info, debug)`);
  }
  const memberId = get('member-id');
  if (memberId && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(memberId)) {
    throw new ConfigError(`member-id: "${memberId}" must be 1-63 letters, digits, '.', '_' or '-'`);
  }
  const ttl = get('member-ttl');
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1 || Number(ttl) > 300) throw new ConfigError(`member-ttl: "${ttl}" is not a number of seconds (1-300)`);
  const limits = readLimits(get);
  return {
    ...limits,
    memberTtlSeconds: Number(ttl),
    dataDir: get('data-dir'),
    etcd,
    etcdPrefix: prefix,
    embeddedEtcdPorts: { client: ports[0]!, peer: ports[1]! },
    memberId: memberId || undefined,
    listenApi: parseHostPort(get('listen-api'), 'listen-api'),
    listenOpenflow: parseHostPort(get('listen-openflow'), 'listen-openflow'),
    listenOvsdb: parseHostPort(get('listen-ovsdb'), 'listen-ovsdb'),
    advertise: get('advertise') || firstNonLoopbackAddress(),
    logLevel,
  };
}

/** The connection and buffer limits (issue 18: every port bounded). */
function readLimits(get: (name: SettingName) => string): Pick<Config, 'maxConnectionsPerAddress' | 'ovsdbMaxMessageBytes' | 'ovsdbMaxBufferedBytes'> {
  const count = (name: SettingName, min: number, max: number): number => {
    const text = get(name);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new ConfigError(`${name}: "${text}" is not a number from ${min} to ${max}`);
    return Number(text);
  };
  const mib = 1024 * 1024;
  const maxMessage = count('ovsdb-max-message-mib', 1, 4096);
  const maxBuffered = count('ovsdb-max-buffered-mib', 1, 65536);
  if (maxBuffered < maxMessage) throw new ConfigError(`ovsdb-max-buffered-mib (${maxBuffered}) must be at least ovsdb-max-message-mib (${maxMessage})`);
  return {
    maxConnectionsPerAddress: count('max-connections-per-address', 1, 1_000_000),
    ovsdbMaxMessageBytes: maxMessage * mib,
    ovsdbMaxBufferedBytes: maxBuffered * mib,
  };
}

function parsePort(text: string, setting: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new ConfigError(`${setting}: "${text}" is not a port number (0-65535)`);
  return port;
}

export function parseHostPort(text: string, setting: string): HostPort {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!m) throw new ConfigError(`${setting}: expected HOST:PORT, got "${text}"`);
  return { host: m[1] || '0.0.0.0', port: parsePort(m[2]!, setting) };
}

function firstNonLoopbackAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
