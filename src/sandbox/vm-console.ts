/**
 * The serial console of a sandbox VM's busybox shell (src/sandbox/initramfs.ts):
 * whatever carries it (qemu's stdio, a libvirt unix socket), lines go in and the
 * guest's output comes back. Commands end with a marker the guest shell computes,
 * so the echo of the command line itself never matches it.
 */
import { VM_LEASE_MARKER, VM_READY_MARKER } from './initramfs';

export interface VmLease {
  readonly ip: string;
  readonly subnet: string;
  readonly router: string;
  readonly mtu: string;
  /** From the DHCP command written to the console to the lease printed. */
  readonly elapsedMs: number;
}

export class VmConsole {
  private text = '';
  private readonly waiters = new Set<() => void>();
  private commandCount = 0;
  private closedWhy: string | undefined;
  private writeLine: (line: string) => void;

  constructor(
    readonly name: string,
    write: (line: string) => void,
  ) {
    this.writeLine = write;
  }

  get output(): string {
    return this.text;
  }

  /** Feeds guest output (from qemu's stdout or the console socket). */
  feed(data: Buffer | string): void {
    this.text = (this.text + data.toString()).slice(-200_000);
    this.notify();
  }

  /** The transport is gone (qemu exited...): pending waits fail with `why`. */
  close(why: string): void {
    this.closedWhy = why;
    this.notify();
  }

  /** Carries on over another transport (the target of a migration), with the same command numbering. */
  moveTo(write: (line: string) => void, from: VmConsole): void {
    this.writeLine = write;
    this.commandCount = from.commandCount;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  waitFor(match: (text: string) => boolean, timeoutMs: number, what: string, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const t = this.text.slice(from);
        if (match(t)) {
          done();
          resolve(t);
        } else if (this.closedWhy !== undefined) {
          done();
          reject(new Error(`${this.name}: ${this.closedWhy} while waiting for ${what}: ${this.text.slice(-1500)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; console: ${this.text.slice(-1500)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  waitForShell(timeoutMs = 120_000): Promise<string> {
    return this.waitFor((t) => t.includes(VM_READY_MARKER), timeoutMs, 'the guest shell');
  }

  /** Runs a shell line in the guest; resolves with its output and exit status. */
  async run(line: string, timeoutMs = 30_000): Promise<{ output: string; status: number }> {
    const n = ++this.commandCount;
    const from = this.text.length;
    const marker = `PXDONE${n}`;
    const done = new RegExp(`${marker}-(\\d+)-${n * 7}`);
    this.writeLine(`${line}; echo ${marker}-$?-$((${n} * 7))\n`);
    const t = await this.waitFor((x) => done.test(x), timeoutMs, `the end of "${line}"`, from);
    const m = done.exec(t)!;
    return { output: t.slice(0, m.index), status: Number(m[1]) };
  }

  /** DHCP from the guest (busybox udhcpc); resolves with the lease it applied. */
  async dhcp(timeoutMs = 30_000): Promise<VmLease> {
    const t0 = Date.now();
    const r = await this.run('udhcpc -i eth0 -n -q -t 10 -T 1 -O mtu -s /bin/udhcpc.script', timeoutMs);
    const elapsedMs = Date.now() - t0;
    const m = new RegExp(`${VM_LEASE_MARKER} ip=(\\S*) subnet=(\\S*) router=(\\S*) mtu=(\\S*)`).exec(r.output);
    if (r.status !== 0 || !m) throw new Error(`${this.name}: no DHCP lease (udhcpc exit ${r.status}): ${r.output.slice(-800)}`);
    return { ip: m[1]!, subnet: m[2]!, router: m[3]!, mtu: m[4]!, elapsedMs };
  }

  /** Pings from the guest; `received` of `count`. */
  async ping(ip: string, count = 3, timeoutMs = 30_000): Promise<{ received: number; output: string }> {
    const r = await this.run(`ping -c ${count} -W 2 ${ip}`, timeoutMs);
    const m = /(\d+) packets received/.exec(r.output);
    return { received: Number(m?.[1] ?? 0), output: r.output };
  }
}
