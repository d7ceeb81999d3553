/**
 * Runs the host tools the integrations drive (ip, ovs-vsctl, ethtool, nsenter):
 * no shell, bounded in time, a non-zero exit is a {@link CommandError} carrying
 * the tool's own message.
 */
import { spawn } from 'node:child_process';
import { PlexusError } from '../../protocols/common/errors';

export class CommandError extends PlexusError {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args...` to completion; rejects on non-zero exit unless `allowFail`. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; allowFail?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timeoutMs = options.timeoutMs ?? 15_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(`cannot run ${command}: ${err.message}`, null, ''));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && !options.allowFail) {
        const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exited ${code}`;
        reject(new CommandError(`${command} ${args.join(' ')} ${why}: ${(stderr || stdout).trim()}`, code, stderr));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}
