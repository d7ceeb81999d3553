/**
 * Real libvirt for sandbox VMs (SPEC §7 "VMs"): a libvirtd per lab host, in
 * that host's network namespace and in a private mount namespace where
 * /run/openvswitch is the host's sandboxed OVS directory (libvirt runs
 * `ovs-vsctl` against the default database socket), /etc/libvirt holds this
 * run's configuration (root, no security driver, no cgroups), /var/{lib,cache,
 * log} and /run are empty tmpfs, and /etc/passwd knows the `libvirt-qemu` user
 * Debian's qemu driver expects. Nothing outside the namespace sees any of it.
 *
 * Domains are `virsh define`d with `<interface type='bridge'><virtualport
 * type='openvswitch'>`, so libvirt itself creates the tap and writes
 * `iface-id`, `attached-mac`, `vm-id`, `iface-status` on br-int. Their serial
 * console is a unix socket the test drives (src/sandbox/vm-console.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeInitramfs } from './initramfs';
import { spawnWithPrivateMounts } from './netns';
import type { OvsHost } from './ovs-host';
import { bootOrStop, isAlive, onExitCleanup, run, stopPid, trackPid, untrackPid, waitForAnswer, type RunResult } from './processes';
import { VmConsole, type VmLease } from './vm-console';
import { ensureVmKernel } from './vm-kernel';

export interface LibvirtdOptions {
  readonly netns: string;
  readonly ovs: OvsHost;
}

export interface DomainSpec {
  readonly name: string;
  /** The endpoint id: `<parameters interfaceid=.../>`. */
  readonly interfaceId: string;
  readonly mac: string;
  readonly memoryMb?: number;
}

const LIBVIRTD_CONF = (sockDir: string): string => `unix_sock_dir = "${sockDir}"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n`;
const QEMU_CONF = 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\ncgroup_controllers = [ ]\nstdio_handler = "file"\nnamespaces = [ ]\nremember_owner = 0\n';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** The domain XML: direct kernel boot, one virtio NIC on br-int through the openvswitch virtualport. */
export function domainXml(spec: DomainSpec, files: { vmlinuz: string; initrd: string; console: string }): string {
  const x = escapeXml;
  return `<domain type='qemu'>
  <name>${x(spec.name)}</name>
  <memory unit='MiB'>${spec.memoryMb ?? 128}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${x(files.vmlinuz)}</kernel>
    <initrd>${x(files.initrd)}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <source bridge='br-int'/>
      <virtualport type='openvswitch'>
        <parameters interfaceid='${x(spec.interfaceId)}'/>
      </virtualport>
      <mac address='${x(spec.mac)}'/>
      <model type='virtio'/>
      <driver name='qemu'><host csum='off'/><guest csum='off'/></driver>
    </interface>
    <serial type='unix'>
      <source mode='bind' path='${x(files.console)}'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
`;
}

export class Libvirtd {
  private child: ChildProcess | undefined;
  private logs = '';
  private readonly domains = new Set<LibvirtVm>();
  private readonly forgetExit: () => void;

  private constructor(
    readonly options: LibvirtdOptions,
    readonly dir: string,
  ) {
    this.forgetExit = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  }

  get uri(): string {
    return `qemu:///system?socket=${join(this.dir, 'sock', 'libvirt-sock')}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get log(): string {
    return this.logs;
  }

  static async start(options: LibvirtdOptions): Promise<Libvirtd> {
    const d = new Libvirtd(options, mkdtempSync(join(tmpdir(), 'plexus-libvirt-')));
    return bootOrStop(d, () => d.boot(), () => d.stop());
  }

  private async boot(): Promise<void> {
    const D = this.dir;
    for (const sub of ['etc', 'sock']) mkdirSync(join(D, sub));
    writeFileSync(join(D, 'etc', 'libvirtd.conf'), LIBVIRTD_CONF(join(D, 'sock')));
    writeFileSync(join(D, 'etc', 'qemu.conf'), QEMU_CONF);
    writeFileSync(join(D, 'passwd'), readFileSync('/etc/passwd', 'utf8') + 'libvirt-qemu:x:64055:64055:libvirt:/var/lib/libvirt:/usr/sbin/nologin\n');
    writeFileSync(join(D, 'group'), readFileSync('/etc/group', 'utf8') + 'libvirt-qemu:x:64055:\nkvm:x:64056:\n');
    const q = (p: string): string => `'${p.replace(/'/g, `'\\''`)}'`;
    const script = [
      'mount -t tmpfs plexus /run', 'mkdir -p /run/openvswitch /run/libvirt',
      `mount --bind ${q(this.options.ovs.dir)} /run/openvswitch`,
      `mount --bind ${q(join(D, 'etc'))} /etc/libvirt`,
      `mount --bind ${q(join(D, 'passwd'))} /etc/passwd`,
      `mount --bind ${q(join(D, 'group'))} /etc/group`,
      'mount -t tmpfs plexus /var/lib', 'mount -t tmpfs plexus /var/cache', 'mount -t tmpfs plexus /var/log',
      'mkdir -p /var/lib/libvirt /var/cache/libvirt /var/log/libvirt/qemu',
      'exec libvirtd -f /etc/libvirt/libvirtd.conf',
    ].join(' && ');
    const child = spawnWithPrivateMounts(this.options.netns, script, (text) => void (this.logs = (this.logs + text).slice(-50_000)));
    this.child = child;
    child.on('exit', () => child.pid && untrackPid(child.pid));
    await waitForAnswer('libvirtd', child, () => this.logs, async () => (await this.virsh(['version'], { allowFail: true })).code === 0);
  }

  virsh(args: readonly string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('virsh', ['-c', this.uri, ...args], { timeoutMs: 60_000, ...options });
  }

  /** Defines and starts a domain; resolves once its tap is on br-int and the console socket is connected. */
  async startVm(spec: DomainSpec): Promise<LibvirtVm> {
    const kernel = await ensureVmKernel();
    const dir = join(this.dir, `vm-${spec.name}`);
    mkdirSync(dir);
    const initrd = writeInitramfs(dir, kernel.modules);
    const files = { vmlinuz: kernel.vmlinuz, initrd, console: join(dir, 'console.sock') };
    writeFileSync(join(dir, 'domain.xml'), domainXml(spec, files));
    await this.virsh(['define', join(dir, 'domain.xml')]);
    const vm = new LibvirtVm(this, spec, files.console);
    this.domains.add(vm);
    return bootOrStop(vm, () => vm.boot(), () => vm.destroy());
  }

  /** qemu's pid as libvirtd sees it (its /run is private: read it through /proc/<pid>/root). */
  qemuPid(domain: string): number | undefined {
    try {
      return Number(readFileSync(`/proc/${this.child?.pid}/root/run/libvirt/qemu/${domain}.pid`, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  forget(vm: LibvirtVm): void {
    this.domains.delete(vm);
  }

  async stop(): Promise<void> {
    for (const vm of [...this.domains]) await vm.destroy();
    const pid = this.child?.pid;
    if (pid && isAlive(pid)) await stopPid(pid, 5000);
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetExit();
  }
}

export class LibvirtVm {
  readonly console: VmConsole;
  private socket: Socket | undefined;
  private qemuPid: number | undefined;
  /** virsh start → guest shell on the console. */
  bootMs: number | undefined;
  /** The tap libvirt created (`virsh domiflist`). */
  tap = '';
  vmId = '';

  constructor(
    readonly libvirtd: Libvirtd,
    readonly spec: DomainSpec,
    private readonly consolePath: string,
  ) {
    this.console = new VmConsole(spec.name, (line) => this.socket?.write(line));
  }

  async boot(): Promise<void> {
    const t0 = Date.now();
    await this.libvirtd.virsh(['start', this.spec.name]);
    this.qemuPid = this.libvirtd.qemuPid(this.spec.name);
    if (this.qemuPid) trackPid(this.qemuPid);
    this.vmId = (await this.libvirtd.virsh(['domuuid', this.spec.name])).stdout.trim();
    const ifl = (await this.libvirtd.virsh(['domiflist', this.spec.name])).stdout;
    this.tap = /^\s*(\S+)\s+bridge\s+br-int/m.exec(ifl)?.[1] ?? '';
    if (!this.tap) throw new Error(`${this.spec.name}: no bridge interface in virsh domiflist:\n${ifl}`);
    await new Promise<void>((resolve, reject) => {
      const s = connect(this.consolePath);
      s.once('connect', () => resolve());
      s.once('error', reject);
      s.on('data', (d: Buffer) => this.console.feed(d));
      s.on('close', () => this.console.close('the console socket closed'));
      this.socket = s;
    });
    await this.console.waitForShell();
    this.bootMs = Date.now() - t0;
  }

  run(line: string, timeoutMs?: number): Promise<{ output: string; status: number }> {
    return this.console.run(line, timeoutMs);
  }
  dhcp(timeoutMs?: number): Promise<VmLease> {
    return this.console.dhcp(timeoutMs);
  }
  ping(ip: string, count?: number, timeoutMs?: number): Promise<{ received: number; output: string }> {
    return this.console.ping(ip, count, timeoutMs);
  }

  /** `virsh destroy` + `undefine`: libvirt removes its port from br-int. */
  async destroy(): Promise<void> {
    this.socket?.destroy();
    await this.libvirtd.virsh(['destroy', this.spec.name], { allowFail: true });
    await this.libvirtd.virsh(['undefine', this.spec.name], { allowFail: true });
    if (this.qemuPid) {
      if (isAlive(this.qemuPid)) await stopPid(this.qemuPid, 3000);
      untrackPid(this.qemuPid);
    }
    this.libvirtd.forget(this);
  }
}
