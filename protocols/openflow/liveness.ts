/**
 * Echo keepalive for one OpenFlow session (OpenFlow 1.3.5 §6.3.2, as OVS's
 * rconn does): after `echoIntervalMs` of silence from the peer we send an
 * ECHO_REQUEST; a peer still silent `echoTimeoutMs` after that is dead. Anything
 * heard from the peer counts, and so does its reading what we sent.
 *
 *   heard ──silent ≥ interval──▶ echo sent ──silent > interval + timeout──▶ dead
 *     ▲                              │
 *     └──────────anything heard──────┘
 */
import { TimeoutError } from '../common/errors';

export interface LivenessOptions {
  /** Send an echo after this much silence (default 5000 ms, like OVS). */
  readonly echoIntervalMs?: number;
  /** Dead when still silent this long after the echo (default 3000 ms). */
  readonly echoTimeoutMs?: number;
}

export interface LivenessHooks {
  /** False while the peer cannot be judged (closed, or we are not reading it: the read gate judges it then). */
  readonly canJudge: () => boolean;
  /** True once echoes may be sent (the handshake is over). */
  readonly isReady: () => boolean;
  readonly sendEcho: () => void;
  readonly dead: (err: TimeoutError) => void;
}

/** A check this late (ms) ran after a stall of our own event loop. */
const STALE_CHECK_MS = 500;

export class Liveness {
  private lastHeardMs = Date.now();
  private isEchoOutstanding = false;
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  private timeoutMs = 0;
  private checkEveryMs = 0;
  private lastCheckMs = Date.now();

  constructor(options: LivenessOptions, private readonly hooks: LivenessHooks) {
    this.retune(options);
  }

  /**
   * New interval and timeout from now on (an OVS switch follows its Controller
   * row's `inactivity_probe` the same way); an echo already sent stays outstanding.
   */
  retune(options: LivenessOptions): void {
    this.intervalMs = options.echoIntervalMs ?? 5000;
    this.timeoutMs = options.echoTimeoutMs ?? 3000;
    const checkEveryMs = Math.min(this.intervalMs, 1000);
    if (checkEveryMs === this.checkEveryMs) return;
    clearInterval(this.timer);
    this.checkEveryMs = checkEveryMs;
    this.lastCheckMs = Date.now();
    this.timer = setInterval(() => this.check(), this.checkEveryMs);
  }

  /** Bytes came from the peer: alive, and any echo answered. */
  heard(): void {
    this.lastHeardMs = Date.now();
    this.isEchoOutstanding = false;
  }

  /** The peer took what we sent: alive, whatever the clock says about its silence (an echo stays outstanding). */
  alive(): void {
    this.lastHeardMs = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const lateMs = now - this.lastCheckMs - this.checkEveryMs;
    this.lastCheckMs = now;
    if (!this.hooks.canJudge()) return;
    // Timers run before sockets are read: after a stall of our own loop the peer's answer may be
    // waiting unread. Judge it at the next check, once the loop has read.
    if (lateMs > STALE_CHECK_MS) return;
    const silentMs = now - this.lastHeardMs;
    if (this.isEchoOutstanding && silentMs > this.intervalMs + this.timeoutMs) {
      return this.hooks.dead(new TimeoutError(`peer silent for ${silentMs} ms (echo unanswered)`));
    }
    if (!this.isEchoOutstanding && silentMs >= this.intervalMs && this.hooks.isReady()) {
      this.isEchoOutstanding = true;
      this.hooks.sendEcho();
    }
  }
}
