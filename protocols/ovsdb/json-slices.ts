/**
 * Parses one large JSON text a slice at a time, so a host's 20 MB monitor
 * update does not hold the event loop for the whole of `JSON.parse` while
 * every other host waits.
 *
 * The outer containers are built here; any value that ends within
 * `LEAF_BYTES` of where it starts (a row, a row update, a string) is handed to
 * `JSON.parse` whole. A container found to be larger is entered instead, and
 * its elements get the same treatment, so each step is bounded by one leaf and
 * the time budget. The result is the value `JSON.parse` would return for the
 * same text; malformed text throws {@link DecodeError} with the stream offset.
 *
 * Enumerating an object of 100,000 members (`Object.entries`) is itself a
 * single step of hundreds of milliseconds, so every object built here also
 * carries its members in order under the non-enumerable {@link ENTRIES}
 * symbol; {@link entriesOf} uses them (and falls back to `Object.entries`).
 *
 * ```
 *   {"id":null,"method":"update2","params":["m",{"Interface":{ "u1":{...}, "u2":{...}, ... }}]}
 *   └─ built here ──────────────────────────────────────────┘  └ JSON.parse ┘ └ JSON.parse ┘
 * ```
 */
import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { DecodeError } from '../common/errors';

/** Values whose text is at most this long are parsed by one JSON.parse call. */
export const LEAF_BYTES = 64 * 1024;

const CH = {
  quote: 0x22,
  backslash: 0x5c,
  lbrace: 0x7b,
  rbrace: 0x7d,
  lbracket: 0x5b,
  rbracket: 0x5d,
  comma: 0x2c,
  colon: 0x3a,
  space: 0x20,
  tab: 0x09,
  lf: 0x0a,
  cr: 0x0d,
} as const;

/** Members of an object built by the parser, in order (not enumerable: invisible to JSON, Object.keys, assert). */
export const ENTRIES: unique symbol = Symbol('json-slices entries');

/** An object's members in order: the list the parser kept (see the module comment), else `Object.entries`. */
export function entriesOf(obj: Record<string, unknown>): readonly (readonly [string, unknown])[] {
  return (obj as { [ENTRIES]?: readonly (readonly [string, unknown])[] })[ENTRIES] ?? Object.entries(obj);
}

/** An open container being built: what comes next in it. */
interface Frame {
  readonly value: unknown[] | Record<string, unknown>;
  readonly isObject: boolean;
  /** An object's members so far; undefined once a key repeats (then Object.entries is right, the list not). */
  entries: [string, unknown][] | undefined;
  /** 'first': just opened; 'value': after `,` (or `:` in an object); 'next': after an element. */
  expect: 'first' | 'value' | 'next';
  key: string | undefined;
}

/** A JSON text too large to parse in one turn, as the stream found it (see json-stream). */
export class LargeJson {
  constructor(
    readonly bytes: Buffer,
    /** Stream offset of its first byte. */
    readonly offset: number,
  ) {}
}

/** One JSON text parsed over many calls of {@link SlicedJsonParser.step}. */
export class SlicedJsonParser {
  private pos = 0;
  private readonly stack: Frame[] = [];
  private result: unknown;
  private done = false;

  constructor(
    private readonly text: LargeJson,
    /** Values at most this long go to JSON.parse whole (tests make it small to exercise the rest). */
    private readonly leafBytes: number = LEAF_BYTES,
  ) {}

  /** The parsed value (once step() returned true). */
  get value(): unknown {
    return this.result;
  }

  /** Works for about `budgetMs`; returns true once the whole value is parsed. */
  step(budgetMs: number): boolean {
    const bytes = this.text.bytes;
    const deadline = performance.now() + budgetMs;
    let n = 0;
    while (!this.done) {
      if ((++n & 15) === 0 && performance.now() >= deadline) return false;
      this.skipSpace();
      if (this.pos >= bytes.length) throw this.fail('JSON text ends inside a value');
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) {
        this.readValue();
        continue;
      }
      const b = bytes[this.pos]!;
      const close = top.isObject ? CH.rbrace : CH.rbracket;
      if (top.expect === 'next') {
        if (b === close) this.closeFrame();
        else if (b === CH.comma) {
          this.pos++;
          top.expect = 'value';
          if (top.isObject) this.readKey(top);
        } else throw this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
        continue;
      }
      if (top.expect === 'first') {
        if (b === close) {
          this.closeFrame();
          continue;
        }
        top.expect = 'value';
        if (top.isObject) {
          this.readKey(top);
          continue;
        }
      }
      this.readValue();
    }
    if (this.pos < bytes.length) {
      this.skipSpace();
      if (this.pos < bytes.length) throw this.fail('unexpected bytes after the JSON value');
    }
    return true;
  }

  private fail(why: string, at = this.pos): DecodeError {
    return new DecodeError(`invalid JSON: ${why}`, this.text.offset + at);
  }

  private skipSpace(): void {
    const bytes = this.text.bytes;
    while (this.pos < bytes.length) {
      const b = bytes[this.pos]!;
      if (b !== CH.space && b !== CH.lf && b !== CH.cr && b !== CH.tab) return;
      this.pos++;
    }
  }

  /** An object member's `"key" :`. */
  private readKey(frame: Frame): void {
    this.skipSpace();
    if (this.text.bytes[this.pos] !== CH.quote) throw this.fail('expected a string key');
    const end = this.endOfString(this.pos);
    const key = this.parseRange(this.pos, end);
    if (typeof key !== 'string') throw this.fail('expected a string key');
    frame.key = key;
    this.pos = end;
    this.skipSpace();
    if (this.text.bytes[this.pos] !== CH.colon) throw this.fail("expected ':'");
    this.pos++;
  }

  /** One value at `pos`: a leaf parsed whole, or a large container entered. */
  private readValue(): void {
    const bytes = this.text.bytes;
    const start = this.pos;
    const b = bytes[start]!;
    let end: number;
    if (b === CH.lbrace || b === CH.lbracket) {
      const closed = this.endOfContainer(start, Math.min(bytes.length, start + this.leafBytes));
      if (closed === undefined) {
        this.pos = start + 1;
        const isObject = b === CH.lbrace;
        this.stack.push({ value: isObject ? {} : [], isObject, expect: 'first', key: undefined, entries: isObject ? [] : undefined });
        return;
      }
      end = closed;
    } else if (b === CH.quote) {
      end = this.endOfString(start);
    } else {
      end = start;
      while (end < bytes.length) {
        const c = bytes[end]!;
        if (c === CH.comma || c === CH.rbrace || c === CH.rbracket || c === CH.space || c === CH.lf || c === CH.cr || c === CH.tab) break;
        end++;
      }
      if (end === start) throw this.fail(`unexpected '${String.fromCharCode(b)}'`);
    }
    this.pos = end;
    this.add(this.parseRange(start, end));
  }

  /** Index after the container opening at `start`, if it closes before `limit`. */
  private endOfContainer(start: number, limit: number): number | undefined {
    const bytes = this.text.bytes;
    let depth = 0;
    let inString = false;
    let escaped = false;
    for (let i = start; i < limit; i++) {
      const c = bytes[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === CH.backslash) escaped = true;
        else if (c === CH.quote) inString = false;
        continue;
      }
      if (c === CH.quote) inString = true;
      else if (c === CH.lbrace || c === CH.lbracket) depth++;
      else if ((c === CH.rbrace || c === CH.rbracket) && --depth === 0) return i + 1;
    }
    return undefined;
  }

  /** Index after the string opening at `start`. */
  private endOfString(start: number): number {
    const bytes = this.text.bytes;
    for (let i = start + 1; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c === CH.backslash) i++;
      else if (c === CH.quote) return i + 1;
    }
    throw this.fail('unterminated string', start);
  }

  private parseRange(start: number, end: number): unknown {
    const piece = this.text.bytes.subarray(start, end);
    if (!isUtf8(piece)) throw this.fail('JSON text is not valid UTF-8', start);
    try {
      return JSON.parse(piece.toString('utf8')) as unknown;
    } catch (err) {
      throw this.fail((err as Error).message, start);
    }
  }

  /** Puts a finished value into the open container (or makes it the result). */
  private add(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.result = value;
      this.done = true;
      return;
    }
    if (top.isObject) {
      const obj = top.value as Record<string, unknown>;
      const key = top.key!;
      if (top.entries && Object.prototype.hasOwnProperty.call(obj, key)) top.entries = undefined;
      top.entries?.push([key, value]);
      // As JSON.parse does: "__proto__" is an own property, not the prototype.
      if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      else obj[key] = value;
    } else (top.value as unknown[]).push(value);
    top.expect = 'next';
  }

  private closeFrame(): void {
    this.pos++;
    const frame = this.stack.pop()!;
    if (frame.entries) Object.defineProperty(frame.value, ENTRIES, { value: frame.entries });
    this.add(frame.value);
  }
}
