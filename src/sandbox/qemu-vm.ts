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
import { writeInitramfs, VM_LEASE_MARKER, VM_READY_MARKER } from './initramfs';
import { ip } from './netns';
import type { OvsHost } from './ovs-host';
import { onExitCleanup, sleep, stopPid, trackPid, untrackPid, waitFor } from './processes';
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

export interface VmLease {
  readonly ip: string;
  readonly subnet: string;
  readonly router: string;
  readonly mtu: string;
  /** From the DHCP command written to the console to the lease printed. */
  readonly elapsedMs: number;
}

let vmCount = 0;

export class QemuVm {
  private child: ChildProcess | undefined;
  private console = '';
  private readonly waiters = new Set<() => void>();
  private readonly forgetExit: () => void;
  private commandCount = 0;
  /** qemu start → READY marker on the console (boot), when it booted. */
  bootMs: number | undefined;

  private constructor(
    readonly options: QemuVmOptions,
    readonly dir: string,
    readonly tap: string,
    readonly vmId: string,
  ) {
    this.forgetExit = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get consoleText(): string {
    return this.console;
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
    const onData = (d: Buffer): void => {
      this.console = (this.console + d.toString()).slice(-200_000);
      for (const w of [...this.waiters]) w();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', () => {
      if (child.pid) untrackPid(child.pid);
      for (const w of [...this.waiters]) w();
    });
    await waitFor(`tap ${this.tap} of ${o.name}`, async () => {
      if (child.exitCode !== null) throw new Error(`qemu exited ${child.exitCode}: ${this.console.slice(-2000)}`);
      return (await ip(o.netns, 'link', 'show', 'dev', this.tap).catch(() => undefined)) !== undefined;
    }, 30_000, 50);
    // libvirt brings the tap up before plugging it (virNetDevSetOnline); qemu leaves it down.
    await ip(o.netns, 'link', 'set', 'dev', this.tap, 'up');
    await this.plug(o.incoming ? 'inactive' : 'active');
    if (!o.incoming) {
      await this.waitForConsole((t) => t.includes(VM_READY_MARKER), 120_000, 'the guest shell');
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

  private waitForConsole(match: (text: string) => boolean, timeoutMs: number, what: string, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const text = this.console.slice(from);
        if (match(text)) {
          done();
          resolve(text);
        } else if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
          done();
          reject(new Error(`${this.options.name}: qemu exited while waiting for ${what}: ${this.console.slice(-1500)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.options.name}: no ${what} within ${timeoutMs} ms; console: ${this.console.slice(-1500)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Runs a shell line on the guest console and resolves with its output and
   * exit status. The end marker is computed by the guest shell, so the echoed
   * command line never matches it.
   */
  async run(line: string, timeoutMs = 30_000): Promise<{ output: string; status: number }> {
    const n = ++this.commandCount;
    const from = this.console.length;
    const marker = `PXDONE${n}`;
    const done = new RegExp(`${marker}-(\\d+)-${n * 7}`);
    // The UART takes a line at a time; the guest echoes what it reads.
    this.child!.stdin!.write(`${line}; echo ${marker}-$?-$((${n} * 7))\n`);
    const text = await this.waitForConsole((t) => done.test(t), timeoutMs, `the end of "${line}"`, from);
    const m = done.exec(text)!;
    return { output: text.slice(0, m.index), status: Number(m[1]) };
  }

  /** DHCP from the guest (busybox udhcpc); resolves with the lease it applied. */
  async dhcp(timeoutMs = 30_000): Promise<VmLease> {
    const t0 = Date.now();
    const r = await this.run('udhcpc -i eth0 -n -q -t 10 -T 1 -O mtu -s /bin/udhcpc.script', timeoutMs);
    const elapsedMs = Date.now() - t0;
    const m = new RegExp(`${VM_LEASE_MARKER} ip=(\\S*) subnet=(\\S*) router=(\\S*) mtu=(\\S*)`).exec(r.output);
    if (r.status !== 0 || !m) throw new Error(`${this.options.name}: no DHCP lease (udhcpc exit ${r.status}): ${r.output.slice(-800)}`);
    return { ip: m[1]!, subnet: m[2]!, router: m[3]!, mtu: m[4]!, elapsedMs };
  }

  /** Pings from the guest; `received` of `count`. */
  async ping(ip: string, count = 3, timeoutMs = 30_000): Promise<{ received: number; output: string }> {
    const r = await this.run(`ping -c ${count} -W 2 ${ip}`, timeoutMs);
    const m = /(\d+) packets received/.exec(r.output);
    return { received: Number(m?.[1] ?? 0), output: r.output };
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
    target.commandCount = this.commandCount;
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
