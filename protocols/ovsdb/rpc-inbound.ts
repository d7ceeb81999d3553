/**
 * The messages one JSON-RPC connection has read, dispatched strictly in order.
 * A message over LARGE_MESSAGE_BYTES (json-stream hands it over as a
 * {@link LargeJson}) is parsed a slice at a time, yielding to the event loop in
 * between; while one is being handled (or a handler holds the queue, e.g. for a
 * large update applied in slices) later messages wait, and reading from the peer
 * stops, so one host's huge update neither stalls the others nor piles up.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type winston from 'winston';
import { LargeJson, SlicedJsonParser } from './json-slices';

/** Work per slice of a large message before other connections get a turn. */
export const SLICE_MS = 5;

export interface InboundHooks {
  readonly isOpen: () => boolean;
  /** Stops reading from the peer until the returned function is called. */
  readonly holdReading: () => () => void;
  /** A hold ended: we were busy, not the peer silent. */
  readonly onReleased: () => void;
  /** Decodes and dispatches one JSON value read at stream offset `offset`. */
  readonly dispatch: (value: unknown, offset: number) => void;
  /** A large message did not parse: close the connection. */
  readonly onUnreadable: (err: unknown) => void;
  readonly log: winston.Logger;
}

export class InboundQueue {
  /** Messages read but not dispatched yet, because an earlier one is still being handled. */
  private readonly waiting: { readonly value: unknown; readonly offset: number }[] = [];
  /** Handlers in progress (see hold) that later messages wait for. */
  private holding = 0;

  constructor(private readonly hooks: InboundHooks) {}

  push(value: unknown, offset: number): void {
    this.waiting.push({ value, offset });
  }

  /** Dispatches what has been read, in order, unless an earlier message is still being handled. */
  drain(): void {
    while (this.holding === 0 && this.hooks.isOpen()) {
      const next = this.waiting.shift();
      if (next === undefined) return;
      if (next.value instanceof LargeJson) this.hold(this.parseInSlices(next.value));
      else this.hooks.dispatch(next.value, next.offset);
    }
  }

  /**
   * Holds every later message, and reading from the peer, until `work`
   * settles. The caller handles `work`'s failure (typically by closing the connection).
   */
  hold(work: Promise<unknown>): void {
    this.holding++;
    const release = this.hooks.holdReading();
    const done = (): void => {
      this.holding--;
      release();
      this.hooks.onReleased();
      this.drain();
    };
    work.then(done, done);
  }

  /** Parses a large message a slice at a time, yielding to the event loop in between, then dispatches it. */
  private async parseInSlices(text: LargeJson): Promise<void> {
    const parser = new SlicedJsonParser(text);
    const startedMs = performance.now();
    let slices = 1;
    try {
      while (!parser.step(SLICE_MS)) {
        slices++;
        await yieldToEventLoop();
        if (!this.hooks.isOpen()) return;
      }
    } catch (err) {
      return this.hooks.onUnreadable(err);
    }
    this.hooks.log.debug('large message parsed in slices', { bytes: text.bytes.length, slices, ms: Math.round(performance.now() - startedMs) });
    this.hooks.dispatch(parser.value, text.offset);
  }
}
