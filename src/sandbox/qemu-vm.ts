/**
 * A real VM for tests and the demo (SPEC §7 "VMs"): qemu (TCG; KVM hangs on
 * these machines) boots Debian's kernel with a busybox initramfs, its NIC a
 * virtio-net on a tap that qemu creates in a lab host's namespace. The tap is
 * put on br-int with exactly the ovs-vsctl command libvirt's
 * `<virtualport type='openvswitch'>` issues (virNetDevOpenvswitchAddPort):
 * `attached-mac`, `iface-id`, `vm-id`, `iface-status=active` — or `inactive` for
 * the target of a live migration, which qemu itself carries out (`-incoming`,
 * QMP `migrate`) over the lab's management segment.
 *
 * The serial console is qemu's stdio: the test writes shell lines and reads
 * the output. Checksum offloads are off on the NIC (the netdev datapath does not
 * complete partial checksums, SPEC §9).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeInitramfs } from './initramfs';
import { ip } from './netns';
import type { OvsHost } from './ovs-host';
import { onExitCleanup, sleep, stopPid, trackPid, untrackPid, waitFor } from './processes';
import { VmConsole, type VmLease } from './vm-console';
import { ensureVmKernel } from './vm-kernel';

export interface QemuVmOptions {
  readonly name: string;
  /** Lab host namespace qemu (and so its tap) runs in. */
  readonly netns: string;
  readonly ovs: OvsHost;
  /** The endpoint id (libvirt `<parameters interfaceid=.../>`). */
  readonly interfaceId: string;
  readonly mac: string;
  /** libvirt's domain UUID (`vm-id`); shared by both ends of a migration. */
  readonly vmId?: string;
  /** Wait for a migration stream on this address instead of booting (`-incoming tcp:H:P`). */
  readonly incoming?: { readonly host: string; readonly port: number };
  readonly memoryMb?: number;
}

export type { VmLease } from './vm-console';

let vmCount = 0;

export class QemuVm {
  private child: ChildProcess | undefined;
  readonly console: VmConsole;
  private readonly forgetExit: () => void;
  /** qemu start → READY marker on the console (boot), when it booted. */
  bootMs: number | undefined;

  private constructor(
    readonly options: QemuVmOptions,
    readonly dir: string,
    readonly tap: string,
    readonly vmId: string,
  ) {
    this.forgetExit = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
    this.console = new VmConsole(options.name, (line) => this.child?.stdin?.write(line));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get consoleText(): string {
    return this.console.output;
  }
  get qmpSocket(): string {
    return join(this.dir, 'qmp.sock');
  }

  /** Starts qemu, plugs its tap in libvirt's way, and (unless incoming) waits for the guest shell. */
  static async start(options: QemuVmOptions): Promise<QemuVm> {
    const kernel = await ensureVmKernel();
    const dir = mkdtempSync(join(tmpdir(), `plexus-vm-${options.name}-`));
    const tap = `tap${process.pid % 1000}v${++vmCount}`.slice(0, 15);
    const vm = new QemuVm(options, dir, tap, options.vmId ?? randomUUID());
    try {
      const initrd = writeInitramfs(dir, kernel.modules);
      await vm.launch(kernel.vmlinuz, initrd);
    } catch (err) {
      await vm.stop();
      throw err;
    }
    return vm;
  }

  private async launch(vmlinuz: string, initrd: string): Promise<void> {
    const o = this.options;
    const nic = ['virtio-net-pci', 'netdev=n0', `mac=${o.mac}`, 'csum=off', 'guest_csum=off', 'mrg_rxbuf=off'].join(',');
    const args = [
      '--net=' + `/run/netns/${o.netns}`, '--',
      'qemu-system-x86_64', '-accel', 'tcg', '-m', String(o.memoryMb ?? 128), '-nodefaults', '-no-user-config',
      '-display', 'none', '-serial', 'stdio', '-no-reboot',
      '-kernel', vmlinuz, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1',
      '-netdev', `tap,id=n0,ifname=${this.tap},script=no,downscript=no`, '-device', nic,
      '-qmp', `unix:${this.qmpSocket},server=on,wait=off`,
      ...(o.incoming ? ['-incoming', `tcp:${o.incoming.host}:${o.incoming.port}`] : []),
    ];
    const t0 = Date.now();
    const child = spawn('nsenter', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    if (child.pid) trackPid(child.pid);
    child.stdout!.on('data', (d: Buffer) => this.console.feed(d));
    child.stderr!.on('data', (d: Buffer) => this.console.feed(d));
    child.on('exit', (code) => {
      if (child.pid) untrackPid(child.pid);
      this.console.close(`qemu exited ${code}`);
    });
    await waitFor(`tap ${this.tap} of ${o.name}`, async () => {
      if (child.exitCode !== null) throw new Error(`qemu exited ${child.exitCode}: ${this.console.output.slice(-2000)}`);
      return (await ip(o.netns, 'link', 'show', 'dev', this.tap).catch(() => undefined)) !== undefined;
    }, 30_000, 50);
    // libvirt brings the tap up before plugging it (virNetDevSetOnline); qemu leaves it down.
    await ip(o.netns, 'link', 'set', 'dev', this.tap, 'up');
    await this.plug(o.incoming ? 'inactive' : 'active');
    if (!o.incoming) {
      await this.console.waitForShell();
      this.bootMs = Date.now() - t0;
    }
  }

  /**
   * libvirt's virNetDevOpenvswitchAddPort, verbatim in shape: one ovs-vsctl
   * transaction adding the tap with its external-ids (`iface-status` as given).
   */
  async plug(ifaceStatus: 'active' | 'inactive'): Promise<void> {
    const t = this.tap;
    await this.options.ovs.vsctl(
      '--', '--may-exist', 'add-port', 'br-int', t,
      '--', 'set', 'Interface', t, `external-ids:attached-mac="${this.options.mac}"`,
      '--', 'set', 'Interface', t, `external-ids:iface-id="${this.options.interfaceId}"`,
      '--', 'set', 'Interface', t, `external-ids:vm-id="${this.vmId}"`,
      '--', 'set', 'Interface', t, `external-ids:iface-status=${ifaceStatus}`,
    );
  }

  async setIfaceStatus(status: 'active' | 'inactive'): Promise<void> {
    await this.options.ovs.vsctl('set', 'Interface', this.tap, `external-ids:iface-status=${status}`);
  }

  /** libvirt's virNetDevOpenvswitchRemovePort. */
  async unplug(): Promise<void> {
    await this.options.ovs.vsctl('--', '--if-exists', 'del-port', this.tap);
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

  /** One QMP command (QEMU Machine Protocol) on a fresh connection. */
  async qmp<T = unknown>(execute: string, args?: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      const sock = connect(this.qmpSocket);
      let buf = '';
      let stage = 0;
      sock.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: T; error?: { desc: string }; event?: string };
          buf = buf.slice(nl + 1);
          if (msg.event) continue;
          if (stage === 0 && msg.QMP) {
            stage = 1;
            sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
          } else if (stage === 1) {
            stage = 2;
            sock.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + '\n');
          } else if (stage === 2) {
            sock.end();
            if (msg.error) reject(new Error(`QMP ${execute}: ${msg.error.desc}`));
            else resolve(msg.return as T);
          }
        }
      });
      sock.on('error', reject);
    });
  }

  /** Live-migrates this VM into `target` (started with `incoming`); resolves once QEMU reports completed. */
  async migrateTo(target: QemuVm, timeoutMs = 60_000): Promise<number> {
    const inc = target.options.incoming;
    if (!inc) throw new Error(`${target.options.name} was not started with incoming`);
    const t0 = Date.now();
    await this.qmp('migrate', { uri: `tcp:${inc.host}:${inc.port}` });
    for (;;) {
      const s = await this.qmp<{ status?: string; 'error-desc'?: string }>('query-migrate');
      if (s.status === 'completed') break;
      if (s.status === 'failed' || s.status === 'cancelled') throw new Error(`migration ${s.status}: ${s['error-desc'] ?? ''}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`migration not completed within ${timeoutMs} ms (status ${s.status})`);
      await sleep(50);
    }
    // The guest now runs in the target: its console is the target's stdio.
    target.console.moveTo((line) => target.child?.stdin?.write(line), this.console);
    return Date.now() - t0;
  }

  async stop(): Promise<void> {
    await this.unplug().catch(() => undefined);
    const pid = this.child?.pid;
    if (pid && this.child?.exitCode === null) await stopPid(pid, 3000);
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetExit();
  }
}
