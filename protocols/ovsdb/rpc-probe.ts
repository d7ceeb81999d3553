/**
 * The inactivity probe of one JSON-RPC connection, as OVS's reconnect FSM does
 * it (ovsdb-server(1) `inactivity_probe`): after `probeMs` of silence from the
 * peer we send an echo (RFC 7047 §4.1.11), and a peer still silent for another
 * `probeMs` is dead. While we do not read the peer we cannot hear it, so the
 * probe waits (the read gate judges a peer that does not read meanwhile).
 */
export interface ProbeHooks {
  /** Whether the connection reads from the peer now. */
  readonly isReading: () => boolean;
  /** Sends the echo. */
  readonly sendProbe: () => void;
  /** The peer stayed silent after a probe: close it. */
  readonly onSilent: (silentMs: number) => void;
}

/** A check this late (ms) ran after a stall of our own loop. */
const STALE_CHECK_MS = 500;

export class InactivityProbe {
  private lastHeardMs = Date.now();
  private isOutstanding = false;
  private isStopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed check is due: one that runs much later ran after a stall of our own loop. */
  private dueMs = 0;

  /** `probeMs` 0 disables the probe. */
  constructor(
    private readonly probeMs: number,
    private readonly hooks: ProbeHooks,
  ) {
    this.arm(probeMs);
  }

  /** The peer is alive (it read what we sent, or we were busy rather than it silent); a probe stays outstanding. */
  alive(): void {
    this.lastHeardMs = Date.now();
  }

  /** Bytes came from the peer: alive, and any probe answered. */
  heard(): void {
    this.lastHeardMs = Date.now();
    this.isOutstanding = false;
  }

  stop(): void {
    this.isStopped = true;
    clearTimeout(this.timer);
  }

  private arm(delayMs: number): void {
    if (this.probeMs <= 0 || this.isStopped) return;
    this.dueMs = Date.now() + Math.max(1, delayMs);
    this.timer = setTimeout(() => this.check(), Math.max(1, delayMs));
  }

  private check(): void {
    if (this.isStopped) return;
    // While we do not read the peer we cannot hear it: the read gate judges it meanwhile,
    // or we are busy with a large message it sent.
    if (!this.hooks.isReading()) return this.arm(this.probeMs);
    // Timers run before sockets are read: after our own loop stalled, the peer's answer may be
    // waiting unread. Judge it once the loop has read (next turn), not on the stale clock.
    if (this.isOutstanding && Date.now() - this.dueMs > STALE_CHECK_MS) return this.arm(1);
    const silentMs = Date.now() - this.lastHeardMs;
    if (silentMs < this.probeMs) return this.arm(this.probeMs - silentMs);
    if (this.isOutstanding) return this.hooks.onSilent(silentMs);
    this.isOutstanding = true;
    this.hooks.sendProbe();
    this.arm(this.probeMs);
  }
}
