/**
 * plexusd configuration (SPEC §11). Every flag is also a YAML key in the file
 * given by `--config` and a `PLEXUS_<FLAG>` environment variable. Precedence:
 * command-line flag > environment > config file > default.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
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
  /** Bearer tokens of the API (config file only, hashed); none = unauthenticated, loopback only. */
  readonly apiTokens: readonly ApiTokenConfig[];
  /** TLS for the API and `ssl:` for OpenFlow/OVSDB (PEM file contents). */
  readonly tls: TlsFiles | undefined;
  /** TLS toward an external etcd. */
  readonly etcdTls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer } | undefined;
  /** Connections one peer address may hold open on the OpenFlow and on the OVSDB listener. */
  readonly maxConnectionsPerAddress: number;
  /** Largest OVSDB message accepted from a host. */
  readonly ovsdbMaxMessageBytes: number;
  /** Bytes all hosts together may hold in OVSDB messages not yet complete. */
  readonly ovsdbMaxBufferedBytes: number;
  /** The inactivity probe hosts are asked to use toward this member, sized by the hosts connected (southbound/probe-sizing.ts). */
  readonly hostProbe: { readonly minMs: number; readonly maxMs: number; readonly perHostMs: number };
}

export interface ApiTokenConfig {
  readonly name: string;
  readonly sha256: string;
  readonly admin?: boolean;
  readonly tenant?: string;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Set: peers must present a certificate signed by this CA. */
  readonly ca?: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath?: string;
}

/** The version in package.json, found by walking up from this file (sources and dist/ alike). */
function readVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'plexus') return pkg.version;
    } catch {
      /* not here */
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

export const VERSION = readVersion();

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
  { flag: 'tls-cert', arg: 'FILE', def: '', help: 'PEM certificate: HTTPS for the API, and ssl: for OpenFlow and OVSDB (default: none, plain TCP)' },
  { flag: 'tls-key', arg: 'FILE', def: '', help: 'PEM private key of --tls-cert' },
  { flag: 'tls-ca', arg: 'FILE', def: '', help: 'PEM CA: API clients, switches and hosts must present a certificate it signed (default: none)' },
  { flag: 'etcd-cacert', arg: 'FILE', def: '', help: 'PEM CA that signed the external etcd servers (https:// endpoints)' },
  { flag: 'etcd-cert', arg: 'FILE', def: '', help: 'PEM client certificate for etcd (with --etcd-key)' },
  { flag: 'etcd-key', arg: 'FILE', def: '', help: 'PEM private key of --etcd-cert' },
  { flag: 'max-connections-per-address', arg: 'N', def: '2048', help: 'connections one peer address may hold open on the OpenFlow and on the OVSDB listener (loopback included)' },
  { flag: 'ovsdb-max-message-mib', arg: 'MIB', def: '64', help: 'largest OVSDB message accepted from a host' },
  { flag: 'ovsdb-max-buffered-mib', arg: 'MIB', def: '128', help: 'OVSDB messages not yet complete may hold this much memory, all hosts together' },
  { flag: 'host-probe-min-ms', arg: 'MS', def: '5000', help: "inactivity probe of hosts' Manager and br-int Controller rows toward this member, with few hosts connected" },
  { flag: 'host-probe-max-ms', arg: 'MS', def: '60000', help: 'the largest such probe, however many hosts are connected' },
  { flag: 'host-probe-per-host-ms', arg: 'MS', def: '20', help: 'what each connected host adds to the probe; it moves in steps (min doubled, up to max), down only once the fleet shrank by a third' },
] as const;

/** YAML-only settings (lists of objects do not fit a flag). */
const FILE_ONLY = ['api-tokens'] as const;

type SettingName = (typeof SETTINGS)[number]['flag'];

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The commander program for plexusd; exported so `--help` is tested. */
export function buildCommand(): Command {
  const cmd = new Command('plexusd')
    .description('Plexus SDN controller daemon: adopts Open vSwitch hosts over OVSDB and programs them over OpenFlow 1.3')
    .version(VERSION, '--version', 'print the version and exit')
    .option('--config <FILE>', 'YAML config file; every flag below is also a key (e.g. data-dir: /srv/plexus)')
    .addHelpText(
      'after',
      '\nEvery flag can also be set as PLEXUS_<FLAG> in the environment, e.g. PLEXUS_LOG_LEVEL=debug.\n' +
        'Precedence: flag > environment > config file > default.\n' +
        'API tokens (api-tokens) are set in the config file only; without any, the API listens on loopback only.\n' +
        'Signals: SIGTERM/SIGINT stop gracefully (datapaths handed over, embedded etcd stopped, exit 0); a second one exits at once.\n' +
        'Exit codes: 0 stopped, 1 start-up failed, 2 bad configuration.\n\n' +
        'Hosts join with:  ovs-vsctl set-manager tcp:<plexusd-address>:6640\n' +
        '                  ovs-vsctl set Open_vSwitch . external_ids:plexus-encap-ip=<tunnel ip>',
    )
    .allowExcessArguments(false);
  for (const s of SETTINGS) {
    // Defaults are shown in the text (not given to commander, so that "not set" stays distinguishable from the default).
    const shown = s.def && !s.help.includes('(default') ? ` (default: ${s.def})` : '';
    cmd.addOption(new Option(`--${s.flag} <${s.arg}>`, s.help + shown));
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
    const known = new Set<string>([...SETTINGS.map((s) => s.flag), ...FILE_ONLY]);
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
  const advertise = get('advertise') || firstNonLoopbackAddress();
  checkAdvertise(advertise);
  const tls = loadTls(get('tls-cert'), get('tls-key'), get('tls-ca'));
  const etcdTls = loadEtcdTls(get('etcd-cacert'), get('etcd-cert'), get('etcd-key'), etcd);
  const limits = readLimits(get);
  return {
    ...limits,
    hostProbe: readHostProbe(get),
    apiTokens: parseTokens(file['api-tokens'], configPath),
    tls,
    etcdTls,
    memberTtlSeconds: Number(ttl),
    dataDir: get('data-dir'),
    etcd,
    etcdPrefix: prefix,
    embeddedEtcdPorts: { client: ports[0]!, peer: ports[1]! },
    memberId: memberId || undefined,
    listenApi: parseHostPort(get('listen-api'), 'listen-api'),
    listenOpenflow: parseHostPort(get('listen-openflow'), 'listen-openflow'),
    listenOvsdb: parseHostPort(get('listen-ovsdb'), 'listen-ovsdb'),
    advertise,
    logLevel,
  };
}

/**
 * `--advertise` goes into every host's controller target (`tcp:<advertise>:6653`):
 * an IP address or a DNS name, no port, not a wildcard.
 */
function checkAdvertise(text: string): void {
  const hostname = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(text) === 0 && !(hostname.test(text) && !/^[\d.]+$/.test(text))) {
    throw new ConfigError(`advertise: "${text}" is not an IP address or host name (no port, e.g. 10.0.0.5)`);
  }
  if (text === '0.0.0.0' || text === '::') throw new ConfigError(`advertise: "${text}" is a wildcard: give the address hosts reach this member at`);
}

function readPem(setting: string, path: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!data.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`${setting}: ${path} is not a PEM file`);
  return data;
}

function loadTls(cert: string, key: string, ca: string): TlsFiles | undefined {
  if (!cert && !key && !ca) return undefined;
  if (!cert || !key) throw new ConfigError('tls-cert and tls-key go together (give both, or neither)');
  return {
    cert: readPem('tls-cert', cert),
    key: readPem('tls-key', key),
    certPath: cert,
    keyPath: key,
    ...(ca ? { ca: readPem('tls-ca', ca), caPath: ca } : {}),
  };
}

function loadEtcdTls(ca: string, cert: string, key: string, etcd: readonly string[]): Config['etcdTls'] {
  if (!ca && !cert && !key) return undefined;
  if (etcd.length === 0) throw new ConfigError('etcd-cacert/etcd-cert/etcd-key apply to an external etcd: give --etcd too');
  if (Boolean(cert) !== Boolean(key)) throw new ConfigError('etcd-cert and etcd-key go together (give both, or neither)');
  const plain = etcd.filter((u) => u.startsWith('http://'));
  if (plain.length) throw new ConfigError(`etcd: TLS options given but ${plain.join(', ')} is plain http:// (use https://)`);
  return {
    ...(ca ? { ca: readPem('etcd-cacert', ca) } : {}),
    ...(cert ? { cert: readPem('etcd-cert', cert), key: readPem('etcd-key', key) } : {}),
  };
}

/**
 * `api-tokens` in the config file (SPEC §6):
 *
 *   api-tokens:
 *     - { name: ops, admin: true, sha256: <64 hex digits> }
 *     - { name: acme-ci, tenant: acme, sha256: <64 hex digits> }
 *
 * `plexusctl token new` prints a token and its entry.
 */
function parseTokens(raw: unknown, file: string | undefined): ApiTokenConfig[] {
  if (raw === undefined || raw === null) return [];
  const where = `config file ${file}: api-tokens`;
  if (!Array.isArray(raw)) throw new ConfigError(`${where} must be a list of {name, sha256, admin | tenant}`);
  const seen = new Set<string>();
  return raw.map((t: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw new ConfigError(`${at} must be a mapping {name, sha256, admin | tenant}`);
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['name', 'sha256', 'admin', 'tenant'].includes(k)) throw new ConfigError(`${at}: unknown key "${k}" (known: name, sha256, admin, tenant)`);
    if (typeof o['name'] !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$/.test(o['name'])) throw new ConfigError(`${at}.name must be 1-63 letters, digits, '_', '.', '@', '-'`);
    const hash = typeof o['sha256'] === 'string' ? o['sha256'].replace(/^sha256:/, '').toLowerCase() : '';
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ConfigError(`${at}.sha256 must be the SHA-256 of the token, 64 hex digits (plexusctl token new prints one)`);
    if (seen.has(hash)) throw new ConfigError(`${at}: the same token hash appears twice`);
    seen.add(hash);
    const admin = o['admin'];
    const tenant = o['tenant'];
    if (admin !== undefined && typeof admin !== 'boolean') throw new ConfigError(`${at}.admin must be true or false`);
    if (tenant !== undefined && (typeof tenant !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/.test(tenant))) throw new ConfigError(`${at}.tenant must be a tenant id`);
    if ((admin === true) === (tenant !== undefined)) throw new ConfigError(`${at} needs exactly one of "admin: true" or "tenant: <id>"`);
    return { name: o['name'], sha256: hash, ...(admin === true ? { admin: true } : { tenant: tenant as string }) };
  });
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

/** The probe policy of hosts toward this member (issue 17: a burst over a big fleet must not make hosts drop it). */
function readHostProbe(get: (name: SettingName) => string): Config['hostProbe'] {
  const ms = (name: SettingName, min: number): number => {
    const text = get(name);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > 3_600_000) throw new ConfigError(`${name}: "${text}" is not a number of ms from ${min} to 3600000`);
    return Number(text);
  };
  // OVS raises a nonzero probe below 1 s to 1 s, and 0 would switch probing off.
  const minMs = ms('host-probe-min-ms', 1000);
  const maxMs = ms('host-probe-max-ms', 1000);
  if (maxMs < minMs) throw new ConfigError(`host-probe-max-ms (${maxMs}) must be at least host-probe-min-ms (${minMs})`);
  return { minMs, maxMs, perHostMs: ms('host-probe-per-host-ms', 0) };
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
