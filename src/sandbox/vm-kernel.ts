/**
 * The kernel for sandbox VMs: Debian's `linux-image-amd64` (the package it
 * depends on, e.g. linux-image-6.1.0-57-amd64), fetched with `apt-get download`
 * and unpacked with `dpkg-deb` into a cache dir, never installed (nothing
 * touches the host's /boot or bootloader). Only vmlinuz and the modules a
 * virtio NIC needs are kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from './processes';

/** virtio-net and what it needs, in load order (all modules in Debian's kernel). */
export const VIRTIO_NET_MODULES = [
  'kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
  'kernel/drivers/virtio/virtio_pci.ko',
  'kernel/net/core/failover.ko',
  'kernel/drivers/net/net_failover.ko',
  'kernel/drivers/net/virtio_net.ko',
] as const;

export interface VmKernel {
  readonly version: string;
  readonly vmlinuz: string;
  /** Absolute paths of {@link VIRTIO_NET_MODULES}, in order. */
  readonly modules: readonly string[];
}

export function vmCacheDir(): string {
  return process.env['PLEXUS_VM_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'plexus', 'vm');
}

/** The kernel package linux-image-amd64 points at (apt lists are refreshed once if they know none). */
async function resolveKernelPackage(): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await run('apt-cache', ['depends', 'linux-image-amd64'], { allowFail: true });
    const pkg = /Depends:\s+(linux-image-[0-9][^\s]*)/.exec(r.stdout)?.[1];
    if (pkg) return pkg;
    if (attempt === 0) await run('apt-get', ['update', '-qq'], { timeoutMs: 300_000 });
  }
  throw new Error('apt knows no linux-image-amd64 (is a Debian mirror configured?)');
}

function downloadDeb(pkg: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', ['download', '-qq', pkg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get download ${pkg} exited ${code}: ${err.trim()}`))));
  });
}

/** vmlinuz and the virtio-net modules, from the cache or fetched once. */
export async function ensureVmKernel(): Promise<VmKernel> {
  const cache = vmCacheDir();
  const have = existsSync(cache) ? readdirSync(cache).filter((d) => d.startsWith('linux-image-')) : [];
  const pkg = have.length > 0 ? have.sort().pop()! : await resolveKernelPackage();
  const version = pkg.replace(/^linux-image-/, '');
  const root = join(cache, pkg);
  const paths = (): VmKernel => ({
    version,
    vmlinuz: join(root, 'boot', `vmlinuz-${version}`),
    modules: VIRTIO_NET_MODULES.map((m) => join(root, 'lib', 'modules', version, m)),
  });
  const k = paths();
  if (existsSync(k.vmlinuz) && k.modules.every((m) => existsSync(m))) return k;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'fetch-'));
  try {
    await downloadDeb(pkg, work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
    const unpacked = join(work, 'root');
    mkdirSync(unpacked);
    const members = [`./boot/vmlinuz-${version}`, ...VIRTIO_NET_MODULES.map((m) => `./lib/modules/${version}/${m}`)];
    await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "$@"`.replace('"$@"', members.map((m) => `'${m}'`).join(' ')), 'sh', join(work, deb), unpacked], { timeoutMs: 120_000 });
    rmSync(root, { recursive: true, force: true });
    renameSync(unpacked, root);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return paths();
}
