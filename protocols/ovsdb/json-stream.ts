/**
 * Splits a byte stream of concatenated JSON texts into values (RFC 7047 §3:
 * "JSON-RPC messages ... sent over a stream, without framing"). OVSDB peers send
 * objects back to back with no delimiter, so the only way to find a message's end
 * is to track nesting depth, strings and escapes.
 *
 * Scanning works on bytes, not characters: every byte of a multi-byte UTF-8
 * sequence is >= 0x80, so it can never be mistaken for `{ } [ ] " \`, and a
 * character split across two chunks is simply joined before decoding.
 *
 * A peer cannot crash or stall us: a top-level value must start with `{` or `[`,
 * a value may not exceed `maxMessageBytes` nor nest deeper than `maxDepth`, text
 * must be valid UTF-8 and valid JSON. Anything else throws {@link DecodeError}
 * with the stream offset, after which the stream stays failed (the caller drops
 * the connection; there is no way to resynchronise a JSON stream).
 *
 * Streams of many connections may share one {@link BufferBudget}: the bytes
 * they hold for incomplete values count against it, so many peers each sending
 * half of a large message cannot together hold more than the budget.
 */
import { DecodeError } from '../common/errors';
import { LargeJson } from './json-slices';

/** Default limit for one JSON-RPC message: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Default nesting limit; OVSDB's own documents are a handful of levels deep. */
export const DEFAULT_MAX_DEPTH = 1000;

/** Default budget shared by every connection of a listener: two messages of the default maximum. */
export const DEFAULT_MAX_BUFFERED_BYTES = 2 * DEFAULT_MAX_MESSAGE_BYTES;

/**
 * Bytes that streams may hold, together, for values still incomplete (see the
 * module comment). One per listener; each stream takes and gives back its part.
 */
export class BufferBudget {
  private used = 0;
  constructor(readonly limitBytes: number = DEFAULT_MAX_BUFFERED_BYTES) {}

  get usedBytes(): number {
    return this.used;
  }
  /** Takes `bytes` more, or nothing and false if that would exceed the limit. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export interface JsonStreamOptions {
  readonly maxMessageBytes?: number;
  readonly maxDepth?: number;
  /** Shared with other streams: bytes held for incomplete values count against it. */
  readonly budget?: BufferBudget;
  /**
   * Values longer than this are not parsed here but returned as {@link LargeJson},
   * for the caller to parse a slice at a time (json-slices). Default: never.
   */
  readonly deferAboveBytes?: number;
}

const CH = {
  quote: 0x22,
  backslash: 0x5c,
  lbrace: 0x7b,
  rbrace: 0x7d,
  lbracket: 0x5b,
  rbracket: 0x5d,
  space: 0x20,
  tab: 0x09,
  lf: 0x0a,
  cr: 0x0d,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class JsonStream {
  private readonly maxMessageBytes: number;
  private readonly maxDepth: number;
  private readonly budget: BufferBudget | undefined;
  private readonly deferAboveBytes: number;
  /** Pieces of the value under construction that came in earlier chunks. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Stream offset of the first byte of the current chunk. */
  private consumed = 0;
  /** Stream offset where the value under construction starts. */
  private valueStart = 0;
  private failure: DecodeError | undefined;

  constructor(options: JsonStreamOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.budget = options.budget;
    this.deferAboveBytes = options.deferAboveBytes ?? Infinity;
  }

  /** Stream offsets of the values returned by the last push, in order. */
  private offsets: number[] = [];

  /** Stream offset of the first byte of the most recently completed (or current) value. */
  get messageOffset(): number {
    return this.valueStart;
  }

  /** Stream offset of each value the last push returned (for errors about a message's content). */
  get lastOffsets(): readonly number[] {
    return this.offsets;
  }

  /** Bytes held for a value not yet complete. */
  get bufferedBytes(): number {
    return this.partBytes;
  }

  /** Feeds a chunk; returns the values it completes, in order. */
  push(chunk: Uint8Array): unknown[] {
    if (this.failure) throw this.failure;
    try {
      return this.scan(chunk);
    } catch (err) {
      this.failure =
        err instanceof DecodeError ? err : new DecodeError('cannot decode JSON stream', this.valueStart, { cause: err });
      this.dropParts();
      throw this.failure;
    }
  }

  /** Gives back what an incomplete value holds (the connection is gone). The stream cannot be used after. */
  dispose(): void {
    this.failure ??= new DecodeError('JSON stream closed', this.consumed);
    this.dropParts();
  }

  private dropParts(): void {
    this.budget?.give(this.partBytes);
    this.parts = [];
    this.partBytes = 0;
  }

  private scan(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    this.offsets = [];
    const base = this.consumed;
    /** Index in `chunk` where the current value's bytes start (0 if it began earlier). */
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (b === CH.space || b === CH.lf || b === CH.cr || b === CH.tab) continue;
        if (b !== CH.lbrace && b !== CH.lbracket) {
          throw new DecodeError(`expected '{' or '[' to start a JSON-RPC message, got byte 0x${hex(b)}`, base + i);
        }
        this.depth = 1;
        this.valueStart = base + i;
        from = i;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === CH.backslash) this.escaped = true;
        else if (b === CH.quote) this.inString = false;
        else if (b < 0x20) throw new DecodeError('control character inside a JSON string', base + i);
        continue;
      }
      switch (b) {
        case CH.quote:
          this.inString = true;
          break;
        case CH.lbrace:
        case CH.lbracket:
          if (++this.depth > this.maxDepth) {
            throw new DecodeError(`JSON nested deeper than ${this.maxDepth} levels`, base + i);
          }
          break;
        case CH.rbrace:
        case CH.rbracket:
          if (--this.depth === 0) {
            const piece = chunk.subarray(from, i + 1);
            this.checkSize(this.partBytes + piece.length, base + i);
            out.push(this.finish(piece));
            this.offsets.push(this.valueStart);
          }
          break;
      }
    }
    if (this.depth > 0) {
      const piece = chunk.subarray(from);
      this.checkSize(this.partBytes + piece.length, base + chunk.length);
      if (this.budget && !this.budget.take(piece.length)) {
        const mib = (n: number): string => (n / (1024 * 1024)).toFixed(1);
        throw new DecodeError(
          `incomplete messages of all connections would hold more than ${mib(this.budget.limitBytes)} MiB ` +
            `(this one holds ${mib(this.partBytes + piece.length)} MiB of a message not yet complete)`,
          base + chunk.length,
        );
      }
      // Copy: the caller may reuse its chunk buffer.
      this.parts.push(Buffer.from(piece));
      this.partBytes += piece.length;
    }
    this.consumed += chunk.length;
    return out;
  }

  private checkSize(bytes: number, offset: number): void {
    if (bytes > this.maxMessageBytes) {
      throw new DecodeError(`JSON message larger than ${this.maxMessageBytes} bytes`, offset);
    }
  }

  private finish(last: Uint8Array): unknown {
    const joined = this.parts.length > 0;
    const bytes = joined ? Buffer.concat([...this.parts, last]) : last;
    this.dropParts();
    // `last` is part of the caller's chunk (which it may reuse): a deferred value gets its own copy.
    if (bytes.length > this.deferAboveBytes) return new LargeJson(joined ? (bytes as Buffer) : Buffer.from(bytes), this.valueStart);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (err) {
      throw new DecodeError('JSON message is not valid UTF-8', this.valueStart, { cause: err });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new DecodeError(`invalid JSON: ${why}`, this.valueStart, { cause: err });
    }
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
