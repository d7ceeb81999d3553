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
  return winston.createLogger({
    level,
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'] })],
  });
}

/** A logger that drops everything (library use, tests). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
