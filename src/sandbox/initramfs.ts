/**
 * A busybox initramfs for sandbox VMs, written as a newc cpio archive (the
 * format the kernel unpacks; no cpio binary needed). Its /init loads the
 * virtio-net modules, brings eth0 up, prints a marker and runs a shell on the
 * serial console, which the test drives line by line.
 */
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeBusyboxRootfs } from './busybox-rootfs';

export const VM_READY_MARKER = 'PLEXUS-VM-READY';
export const VM_LEASE_MARKER = 'PLEXUS-LEASE';

function initScript(modules: readonly string[]): string {
  return `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Three passes load them in dependency order whatever the list's order.
for pass in 1 2 3; do
  for m in ${modules.map((m) => basename(m, '.ko')).join(' ')}; do
    [ -d /sys/module/$m ] || insmod /lib/modules/$m.ko 2>/dev/null
  done
done
for m in ${modules.map((m) => basename(m, '.ko')).join(' ')}; do [ -d /sys/module/$m ] || echo "module $m not loaded"; done
ip link set lo up
ip link set eth0 up
echo ${VM_READY_MARKER}
exec /bin/sh
`;
}

/** udhcpc event script: applies the lease with ifconfig/ip and prints it on the console. */
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "$subnet" up
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    [ -n "$router" ] && ip route replace default via \${router%% *} dev "$interface"
    echo "${VM_LEASE_MARKER} ip=$ip subnet=$subnet router=$router mtu=$mtu dns=$dns"
    ;;
esac
exit 0
`;

interface Entry {
  readonly name: string;
  readonly mode: number;
  readonly data: Buffer;
  readonly rdevMajor?: number;
  readonly rdevMinor?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Encodes entries as a newc ("070701") cpio archive with its trailer. */
export function encodeNewc(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) }]) {
    const name = Buffer.from(e.name + '\0');
    const fields = [ino++, e.mode, 0, 0, e.mode & S_IFDIR ? 2 : 1, 0, e.data.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0];
    const header = Buffer.from('070701' + fields.map(hex).join(''), 'ascii');
    parts.push(header, name, Buffer.alloc(pad4(header.length + name.length)), e.data, Buffer.alloc(pad4(e.data.length)));
  }
  return Buffer.concat(parts);
}

function collect(root: string, rel = ''): Entry[] {
  const out: Entry[] = [];
  for (const n of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const p = join(root, r);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out.push({ name: r, mode: S_IFLNK | 0o777, data: Buffer.from(readlinkSync(p)) });
    else if (st.isDirectory()) out.push({ name: r, mode: S_IFDIR | 0o755, data: Buffer.alloc(0) }, ...collect(root, r));
    else out.push({ name: r, mode: S_IFREG | (st.mode & 0o777), data: readFileSync(p) });
  }
  return out;
}

/** Writes `<dir>/initramfs.cpio`: busybox root, the modules under /lib/modules, /init, /dev/console. */
export function writeInitramfs(dir: string, modules: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'plexus-initramfs-'));
  try {
    writeBusyboxRootfs(root);
    mkdirSync(join(root, 'lib', 'modules'), { recursive: true });
    for (const m of modules) copyFileSync(m, join(root, 'lib', 'modules', basename(m)));
    writeFileSync(join(root, 'init'), initScript(modules));
    chmodSync(join(root, 'init'), 0o755);
    writeFileSync(join(root, 'bin', 'udhcpc.script'), UDHCPC_SCRIPT);
    chmodSync(join(root, 'bin', 'udhcpc.script'), 0o755);
    const entries = collect(root);
    // The kernel opens /dev/console for init before anything is mounted.
    entries.push({ name: 'dev/console', mode: S_IFCHR | 0o600, data: Buffer.alloc(0), rdevMajor: 5, rdevMinor: 1 });
    const out = join(dir, 'initramfs.cpio');
    writeFileSync(out, encodeNewc(entries));
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
