/**
 * `plexus-cni`: the CNI plugin entry (SPEC §7). A runtime runs it with CNI_*
 * variables and the network configuration on stdin; it prints a result (ADD),
 * the supported versions (VERSION), nothing (DEL, CHECK, GC, STATUS) or a CNI
 * error object, and exits non-zero on error.
 */
import { cniAdd, cniCheck, cniDel, cniGc, cniStatus, createContext, toCniError } from './commands';
import { CNI_ERROR, CniError, formatCniError, LATEST_VERSION, parseCniConfig, parseCniEnv, SUPPORTED_VERSIONS } from './spec';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one CNI command; returns the process exit code and what to print on stdout. */
export async function runCni(env: NodeJS.ProcessEnv, stdin: string): Promise<{ code: number; stdout: string }> {
  let version = LATEST_VERSION;
  try {
    const cniEnv = parseCniEnv(env);
    if (cniEnv.command === 'VERSION') {
      const asked = (() => {
        try {
          return (JSON.parse(stdin) as { cniVersion?: string }).cniVersion;
        } catch {
          return undefined;
        }
      })();
      return { code: 0, stdout: JSON.stringify({ cniVersion: asked ?? LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS }) };
    }
    const config = parseCniConfig(stdin);
    version = config.cniVersion;
    if ((cniEnv.command === 'GC' || cniEnv.command === 'STATUS') && version !== '1.1.0') {
      throw new CniError(CNI_ERROR.INCOMPATIBLE_VERSION, `${cniEnv.command} is a CNI 1.1.0 command; the configuration says ${version}`);
    }
    const ctx = createContext(config, cniEnv);
    switch (cniEnv.command) {
      case 'ADD':
        return { code: 0, stdout: JSON.stringify(await cniAdd(ctx)) };
      case 'DEL':
        await cniDel(ctx);
        return { code: 0, stdout: '' };
      case 'CHECK':
        await cniCheck(ctx);
        return { code: 0, stdout: '' };
      case 'GC':
        await cniGc(ctx);
        return { code: 0, stdout: '' };
      case 'STATUS':
        await cniStatus(ctx);
        return { code: 0, stdout: '' };
    }
  } catch (err) {
    const e = toCniError(err);
    return { code: 1, stdout: formatCniError(e, version) };
  }
}

export async function main(): Promise<void> {
  const { code, stdout } = await runCni(process.env, process.env['CNI_COMMAND'] === 'VERSION' && process.stdin.isTTY ? '{}' : await readStdin());
  if (stdout) process.stdout.write(stdout + '\n');
  process.exitCode = code;
}

if (require.main === module) void main();
