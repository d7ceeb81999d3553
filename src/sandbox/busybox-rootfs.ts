/**
 * A minimal root filesystem made from the static busybox (`busybox-static`):
 * enough for container images (`docker import`, `podman import`) and a VM's
 * initramfs, built locally without any registry.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes';

export const BUSYBOX = '/bin/busybox';
/** Applets the tests and the demo use inside workloads. */
const APPLETS = ['sh', 'ash', 'ping', 'ping6', 'ip', 'ifconfig', 'route', 'sleep', 'cat', 'echo', 'ls', 'udhcpc', 'nc', 'wget', 'mount', 'mkdir', 'hostname', 'sync', 'poweroff', 'reboot', 'insmod', 'modprobe', 'uname', 'grep', 'sed', 'true', 'false', 'date', 'dmesg'];

/** Lays out `dir` as a busybox root: /bin/busybox, one symlink per applet, /etc, /proc, /sys, /dev, /tmp. */
export function writeBusyboxRootfs(dir: string): void {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'root']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
}

/** A tar of a busybox root (for `docker import -` / `podman import`). */
export async function writeBusyboxTar(workDir: string): Promise<string> {
  const root = join(workDir, 'rootfs');
  writeBusyboxRootfs(root);
  const tar = join(workDir, 'rootfs.tar');
  await run('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}
