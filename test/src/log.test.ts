import assert from 'node:assert/strict';
import { createLogger, RetryLog, type Logger } from '../../src/log';

function capture(): { log: Logger; lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { log: { warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger, lines };
}

describe('retry logging per failure burst (log RetryLog)', function () {
  it('logs the first of 20,000 failures with its reason, a reminder per interval with the count suppressed, and the recovery once', function () {
    let nowMs = 0;
    const { log, lines } = capture();
    const retries = new RetryLog(log, { repeatMs: 10_000, reasonEveryMs: 1000, nowMs: () => nowMs });
    for (let i = 0; i < 20_000; i++) {
      nowMs = i; // 20 s of failures, one per ms
      retries.failed('cannot bind endpoint; will retry', 'etcd: deadline exceeded', { endpoint: `e${i}` });
    }
    const warns = lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 2, 'one line at the start and one after 10 s');
    assert.deepEqual(warns[0], { level: 'warn', message: 'cannot bind endpoint; will retry', fields: { endpoint: 'e0', error: 'etcd: deadline exceeded' } });
    assert.equal(warns[1]!.fields['suppressed'], 9999);
    assert.equal(warns[1]!.fields['failures'], 10_001);
    assert.ok(retries.isFailing);

    nowMs = 20_500;
    retries.succeeded();
    assert.equal(lines.filter((l) => l.level === 'info').length, 0, 'a success amid failures ends no burst');
    nowMs = 21_000;
    retries.succeeded();
    retries.succeeded();
    const info = lines.filter((l) => l.level === 'info');
    assert.equal(info.length, 1);
    assert.deepEqual(info[0]!.fields, { after: 'cannot bind endpoint; will retry', failures: 20_000, suppressed: 9999, failingMs: 19_999, lastError: 'etcd: deadline exceeded' });
    assert.equal(retries.isFailing, false);
  });

  it('logs a changed reason at once, at most once a second, and counts bursts per message', function () {
    let nowMs = 0;
    const { log, lines } = capture();
    const retries = new RetryLog(log, { nowMs: () => nowMs });
    retries.failed('a', 'deadline exceeded', {});
    retries.failed('b', 'deadline exceeded', {});
    nowMs = 500;
    retries.failed('a', 'circuit breaker open', {});
    nowMs = 1500;
    retries.failed('a', 'circuit breaker open', {});
    const warns = lines.filter((l) => l.level === 'warn').map((l) => `${l.message}: ${String(l.fields['error'])}`);
    assert.deepEqual(warns, ['a: deadline exceeded', 'b: deadline exceeded', 'a: circuit breaker open']);
  });
});

describe('log levels (log createLogger)', function () {
  it('formats no line of a disabled level, in the logger or its children, and follows a level changed at run time', function () {
    const log = createLogger('warn', true);
    for (const t of log.transports) t.silent = true;
    const formatted: string[] = [];
    const format = log.format;
    log.format = { ...format, transform: (info, opts) => (formatted.push(String(info.message)), format.transform(info, opts)) };
    const child = log.child({ module: 'm' }).child({ host: 'h' });
    for (let i = 0; i < 100; i++) child.debug('endpoint bound', { endpoint: `e${i}` });
    child.info('host ready');
    child.warn('event loop stalled', { stalledMs: 1200 });
    assert.deepEqual(formatted, ['event loop stalled']);
    log.level = 'debug';
    child.debug('now on');
    assert.deepEqual(formatted, ['event loop stalled', 'now on']);
  });
});
