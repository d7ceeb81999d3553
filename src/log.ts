/**
 * winston logging: readable lines on a TTY, one JSON object per line otherwise.
 * Modules take child loggers with `{module, host, dpid}`; messages are constant
 * strings and the data goes into fields.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level = 'info', json = !process.stderr.isTTY): Logger {
  const format = json
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf(({ timestamp, level: lvl, message, module, ...rest }) => {
          const fields = Object.entries(rest)
            .filter(([k]) => typeof k === 'string')
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          return `${String(timestamp)} ${lvl.padEnd(5)} [${String(module ?? 'plexusd')}] ${String(message)}${fields ? ' ' + fields : ''}`;
        }),
      );
  return skipDisabledLevels(
    winston.createLogger({
      level,
      format,
      transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'] })],
    }),
  );
}

/** A logger that drops everything (library use, tests). */
export function silentLogger(): Logger {
  return skipDisabledLevels(winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] }));
}

/**
 * winston filters a line by level only after it went through the logger's
 * stream (an info object built, default metadata merged, a stream write): a
 * `debug` call on a hot path cost about as much at `--log-level warn` as a
 * line written (a burst of 6,000 attaches over 300 hosts spent ~0.5 s of
 * plexusd's CPU in lines that were all dropped). Each level's method returns at
 * once when the level is off; child loggers inherit the methods
 * (`Object.create`), so they skip the same way.
 */
function skipDisabledLevels(logger: Logger): Logger {
  const methods = logger as unknown as Record<string, (...args: unknown[]) => Logger>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (typeof write !== 'function') continue;
    methods[level] = function (this: Logger, ...args: unknown[]): Logger {
      if (this.silent || !this.isLevelEnabled(level)) return this;
      return write.apply(this, args);
    };
  }
  return logger;
}

export interface RetryLogOptions {
  /** While failures go on with the same reason, one line per this many ms at most, saying how many were not logged (default 10 s). */
  readonly repeatMs?: number;
  /** A new reason is logged at once, but at most once per this many ms (default 1 s). */
  readonly reasonEveryMs?: number;
  readonly nowMs?: () => number;
}

/**
 * Failures of many items for one cause (etcd away: every endpoint's binding
 * write fails) as a few warn lines instead of one per item: the first failure
 * of a burst with its reason, a new reason when it changes, a reminder every
 * `repeatMs` with the count suppressed meanwhile, and one line when an item
 * succeeds again (how many failed, for how long). Bursts are counted per
 * message; per-item detail stays at debug.
 */
export class RetryLog {
  private readonly bursts = new Map<string, { sinceMs: number; failures: number; suppressed: number; lastLineMs: number; lastFailureMs: number; reason: string }>();
  private readonly repeatMs: number;
  private readonly reasonEveryMs: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly log: Logger,
    options: RetryLogOptions = {},
  ) {
    this.repeatMs = options.repeatMs ?? 10_000;
    this.reasonEveryMs = options.reasonEveryMs ?? 1000;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** One item failed for `reason`; `fields` (host, endpoint, attempt...) go with the line if one is written. */
  failed(message: string, reason: string, fields: Readonly<Record<string, unknown>>): void {
    const now = this.nowMs();
    const burst = this.bursts.get(message);
    if (!burst) {
      this.bursts.set(message, { sinceMs: now, failures: 1, suppressed: 0, lastLineMs: now, lastFailureMs: now, reason });
      this.log.warn(message, { ...fields, error: reason });
      return;
    }
    burst.failures++;
    burst.lastFailureMs = now;
    const sinceLineMs = now - burst.lastLineMs;
    const isDue = reason !== burst.reason ? sinceLineMs >= this.reasonEveryMs : sinceLineMs >= this.repeatMs;
    if (!isDue) {
      burst.suppressed++;
      this.log.debug(message, { ...fields, error: reason });
      return;
    }
    this.log.warn(message, { ...fields, error: reason, failures: burst.failures, suppressed: burst.suppressed, failingMs: now - burst.sinceMs });
    burst.suppressed = 0;
    burst.lastLineMs = now;
    burst.reason = reason;
  }

  /**
   * An item succeeded: the bursts with no failure for `reasonEveryMs` are over
   * (their items share the cause), each said so in one line. A success amid
   * failures (some writes pass while etcd struggles) ends nothing: a burst that
   * flaps stays one burst.
   */
  succeeded(): void {
    if (this.bursts.size === 0) return;
    const now = this.nowMs();
    for (const [message, b] of this.bursts) {
      if (now - b.lastFailureMs < this.reasonEveryMs) continue;
      this.log.info('recovered after failures', { after: message, failures: b.failures, suppressed: b.suppressed, failingMs: b.lastFailureMs - b.sinceMs, lastError: b.reason });
      this.bursts.delete(message);
    }
  }

  /** Whether a burst is going on. */
  get isFailing(): boolean {
    return this.bursts.size > 0;
  }
}
