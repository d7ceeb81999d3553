/**
 * The CNI contract (CNI spec 1.0.0 and 1.1.0): the plugin's network
 * configuration, the environment a runtime passes, the result of ADD and the
 * error object with the spec's well-known codes.
 */
import { PlexusError } from '../../../protocols/common/errors';

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

/** CNI spec "Error" well-known codes (1.1.0 adds 50 and 51 for STATUS). */
export const CNI_ERROR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  PLUGIN_NOT_AVAILABLE: 50,
  LIMITED_CONNECTIVITY: 51,
  /** Plugin-specific (100+): CHECK found the attachment not as ADD left it. */
  CHECK_FAILED: 100,
  /** Plugin-specific: Plexus refused the request (unknown network, address taken...). */
  PLEXUS_REFUSED: 101,
} as const;

export class CniError extends PlexusError {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, recoverable: code === CNI_ERROR.TRY_AGAIN_LATER });
  }
}

/** `plexus-cni` network configuration (SPEC §7). */
export interface PlexusCniConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  /** Plexus network id or name. */
  readonly network: string;
  readonly plexusUrl: string;
  readonly tokenFile?: string;
  /** PEM CA that signed plexusd's certificate (an https plexusUrl). */
  readonly caFile?: string;
  /** PEM client certificate and its key, when plexusd asks for one. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** ovs-vsctl --db target of this host's OVSDB (default unix:/var/run/openvswitch/db.sock). */
  readonly ovsdb?: string;
  readonly bridge?: string;
  readonly securityGroups?: readonly string[];
  /** How long ADD waits for plexus-installed (default 30 s). */
  readonly installTimeoutMs?: number;
  readonly runtimeConfig?: { readonly mac?: string; readonly ips?: readonly string[] };
  readonly prevResult?: CniResult;
  /** GC (1.1.0): attachments the runtime still has. */
  readonly 'cni.dev/valid-attachments'?: readonly { containerID: string; ifname: string }[];
}

export interface CniInterface {
  readonly name: string;
  readonly mac: string;
  readonly sandbox?: string;
  readonly mtu?: number;
}

export interface CniIp {
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIp[];
  readonly routes: readonly CniRoute[];
  readonly dns: { readonly nameservers?: readonly string[]; readonly domain?: string; readonly search?: readonly string[] };
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';

/** What the runtime passes in the environment (CNI spec "Parameters"). */
export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  readonly args: Readonly<Record<string, string>>;
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

/** Reads and checks CNI_* variables; which ones are required depends on the command. */
export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env['CNI_COMMAND'] ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_ERROR.INVALID_ENV, `CNI_COMMAND must be one of ${COMMANDS.join(', ')}, got "${command}"`);
  }
  const c = command as CniCommand;
  const containerId = env['CNI_CONTAINERID'] ?? '';
  const ifname = env['CNI_IFNAME'] ?? '';
  const netns = env['CNI_NETNS'] ?? '';
  const needsAttachment = c === 'ADD' || c === 'DEL' || c === 'CHECK';
  if (needsAttachment && !containerId) throw new CniError(CNI_ERROR.INVALID_ENV, `CNI_CONTAINERID is required for ${c}`);
  if (needsAttachment && !ifname) throw new CniError(CNI_ERROR.INVALID_ENV, `CNI_IFNAME is required for ${c}`);
  if ((c === 'ADD' || c === 'CHECK') && !netns) throw new CniError(CNI_ERROR.INVALID_ENV, `CNI_NETNS is required for ${c}`);
  if (ifname && !/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new CniError(CNI_ERROR.INVALID_ENV, `CNI_IFNAME "${ifname}" is not a valid interface name`);
  const args: Record<string, string> = {};
  for (const part of (env['CNI_ARGS'] ?? '').split(';').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq > 0) args[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { command: c, containerId, netns, ifname, args };
}

/** Parses and validates the configuration from stdin. */
export function parseCniConfig(text: string): PlexusCniConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, 'network configuration on stdin is not JSON', (err as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(CNI_ERROR.DECODE_FAILURE, 'network configuration must be a JSON object');
  const c = raw as Record<string, unknown>;
  const str = (k: string): string => {
    const v = c[k];
    if (typeof v !== 'string' || v === '') throw new CniError(CNI_ERROR.INVALID_CONFIG, `network configuration: "${k}" must be a non-empty string`);
    return v;
  };
  const version = str('cniVersion');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(CNI_ERROR.INCOMPATIBLE_VERSION, `plexus-cni supports CNI ${SUPPORTED_VERSIONS.join(', ')}, not ${version}`);
  }
  str('name');
  str('type');
  str('network');
  const url = str('plexusUrl');
  try {
    new URL(url);
  } catch {
    throw new CniError(CNI_ERROR.INVALID_CONFIG, `network configuration: plexusUrl "${url}" is not a URL`);
  }
  for (const k of ['tokenFile', 'caFile', 'certFile', 'keyFile', 'ovsdb', 'bridge'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') throw new CniError(CNI_ERROR.INVALID_CONFIG, `network configuration: "${k}" must be a string`);
  }
  if (c['securityGroups'] !== undefined && !(Array.isArray(c['securityGroups']) && c['securityGroups'].every((g) => typeof g === 'string'))) {
    throw new CniError(CNI_ERROR.INVALID_CONFIG, 'network configuration: "securityGroups" must be an array of strings');
  }
  if (c['installTimeoutMs'] !== undefined && !(Number.isInteger(c['installTimeoutMs']) && (c['installTimeoutMs'] as number) > 0)) {
    throw new CniError(CNI_ERROR.INVALID_CONFIG, 'network configuration: "installTimeoutMs" must be a positive integer');
  }
  return c as unknown as PlexusCniConfig;
}

/** The error object a plugin prints on stdout (CNI spec "Error"). */
export function formatCniError(err: CniError, cniVersion: string): string {
  return JSON.stringify({ cniVersion, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) });
}
