/**
 * An incremental, byte-level RESP2 request parser (a state machine in the manner of nats.js
 * core/src/parser.ts and Redis's processMultibulkBuffer / processInlineBuffer). It does no I/O:
 * `feed()` takes any split of the byte stream and returns the commands the chunk completed.
 *
 * Two request forms, as in Redis:
 * - multibulk `*N\r\n$len\r\n<bytes>\r\n...`, what every client library sends;
 * - inline `PING\r\n`, a line of arguments for telnet-style use, split with Redis's quoting rules
 *   ("double quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \' ).
 *
 * Efficiency: arguments are `subarray` views of the chunk they arrived in, so a pipelined chunk
 * holding thousands of commands is never copied per command. Bytes are copied only when a bulk
 * string or a line spans chunks. A consumer that keeps an argument beyond the command (a store
 * keeping a value) must copy it, or it pins the whole network chunk.
 *
 * Errors: the parser never throws on any input. Invalid input yields one protocol error with
 * Redis's wording; the commands completed before it are still returned (Redis executes them, then
 * replies with the error and closes the connection), and every later input is ignored. The result
 * is the same for every split of the same stream (property-tested), which Redis itself does not
 * promise for its size limits.
 */
import { assert } from '../../core/assert.js';

/** Bounds on what one client may send; all optional, defaults below. */
export interface RespParserOptions {
  /**
   * Largest bulk string (one argument) in bytes. Default 16 MiB + 1 KiB: ringkv's largest value
   * (16 MiB) plus room for the key and framing, instead of Redis's 512 MB proto-max-bulk-len, so
   * a client cannot make the node buffer half a gigabyte for one argument.
   */
  readonly maxBulkBytes?: number | undefined;
  /** Most arguments in one multibulk command. Default 1024 * 1024, as Redis allows unauthenticated clients. */
  readonly maxArrayLength?: number | undefined;
  /**
   * Longest inline command line, and longest `*N` / `$N` header line, in bytes. Default 64 KiB,
   * Redis's PROTO_INLINE_MAX_SIZE.
   */
  readonly maxInlineBytes?: number | undefined;
  /**
   * Largest total of argument bytes in one command. Default 64 MiB: an MSET of four maximal
   * values fits; beyond it a single command could hold maxArrayLength * maxBulkBytes bytes. Redis's
   * closest bound is client-query-buffer-limit (1 GB).
   */
  readonly maxCommandBytes?: number | undefined;
}

export const DEFAULT_MAX_BULK_BYTES = 16 * 1024 * 1024 + 1024;
export const DEFAULT_MAX_ARRAY_LENGTH = 1024 * 1024;
export const DEFAULT_MAX_INLINE_BYTES = 64 * 1024;
export const DEFAULT_MAX_COMMAND_BYTES = 64 * 1024 * 1024;

/** What one `feed()` produced. */
export interface RespParseResult {
  /** Commands completed by this chunk, in stream order; each is its argv, command name first. */
  readonly commands: Buffer[][];
  /**
   * Set when the stream became invalid: the Redis error line to reply (without '-' and CRLF),
   * e.g. "ERR Protocol error: invalid bulk length". It comes after `commands` in stream order.
   */
  readonly protocolError: string | undefined;
}

/** The protocol error lines, in Redis's wording (networking.c), except where noted. */
export const RespProtocolErrors = {
  invalidBulkLength: 'ERR Protocol error: invalid bulk length',
  invalidMultibulkLength: 'ERR Protocol error: invalid multibulk length',
  tooBigInline: 'ERR Protocol error: too big inline request',
  tooBigMultibulkCount: 'ERR Protocol error: too big mbulk count string',
  tooBigBulkCount: 'ERR Protocol error: too big bulk count string',
  unbalancedQuotes: 'ERR Protocol error: unbalanced quotes in request',
  /** Not in Redis, which skips the two bytes after a bulk string unchecked; we check them to catch desync early. */
  missingBulkCrlf: "ERR Protocol error: expected '\\r\\n' after bulk string",
  /** Not in Redis (its bound is client-query-buffer-limit, which closes without a reply). */
  commandTooLarge: 'ERR Protocol error: command exceeds maxCommandBytes',
  expectedDollar(got: number): string {
    return `ERR Protocol error: expected '$', got '${printableByte(got)}'`;
  },
} as const;

/** Redis prints the raw byte (newlines as spaces); we escape non-printable bytes so the error line stays ASCII. */
function printableByte(byte: number): string {
  if (byte === CR || byte === LF) return ' ';
  if (byte >= 0x20 && byte <= 0x7e) return String.fromCharCode(byte);
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;

const enum State {
  /** At the start of a command, nothing buffered. */
  CommandStart,
  /** Reading an inline command line. */
  InlineLine,
  /** Reading the `*N` line. */
  CountLine,
  /** At the start of a `$N` line, nothing buffered. */
  BulkStart,
  /** Reading the `$N` line. */
  BulkLine,
  /** Reading `bulkLength` bytes plus CRLF. */
  BulkData,
  /** A protocol error happened; input is ignored. */
  Failed,
}

const EMPTY_RESULT: RespParseResult = Object.freeze({ commands: [], protocolError: undefined });

export class RespParser {
  private readonly maxBulkBytes: number;
  private readonly maxArrayLength: number;
  private readonly maxInlineBytes: number;
  private readonly maxCommandBytes: number;

  private state: State = State.CommandStart;
  /** Pieces of a line that spans chunks (states InlineLine, CountLine, BulkLine). */
  private linePieces: Buffer[] = [];
  private linePiecesBytes = 0;
  /** Arguments of the multibulk command being read. */
  private argv: Buffer[] = [];
  private argsRemaining = 0;
  private commandBytes = 0;
  private bulkLength = 0;
  /** Copy target for a bulk string spanning chunks (bulkLength + 2 bytes, CRLF included); null until needed. */
  private bulkCopy: Buffer | null = null;
  private bulkCopyFilled = 0;

  constructor(options: RespParserOptions = {}) {
    this.maxBulkBytes = options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    this.maxArrayLength = options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
    this.maxInlineBytes = options.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES;
    this.maxCommandBytes = options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES;
    assert(Number.isSafeInteger(this.maxBulkBytes) && this.maxBulkBytes >= 0, 'maxBulkBytes is a non-negative integer');
    assert(Number.isSafeInteger(this.maxArrayLength) && this.maxArrayLength >= 1, 'maxArrayLength is a positive integer');
    assert(Number.isSafeInteger(this.maxInlineBytes) && this.maxInlineBytes >= 4, 'maxInlineBytes is at least 4');
    assert(Number.isSafeInteger(this.maxCommandBytes) && this.maxCommandBytes >= 0, 'maxCommandBytes is a non-negative integer');
  }

  /** True once a protocol error was returned; the parser then ignores all input. */
  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** Parses `chunk` (any split of the stream); never throws on any input. */
  feed(chunk: Buffer): RespParseResult {
    if (this.state === State.Failed || chunk.length === 0) return EMPTY_RESULT;
    const commands: Buffer[][] = [];
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case State.CommandStart:
          this.state = chunk[pos] === STAR ? State.CountLine : State.InlineLine;
          break;
        case State.BulkStart: {
          const first = chunk[pos] as number;
          if (first !== DOLLAR) return this.fail(commands, RespProtocolErrors.expectedDollar(first));
          this.state = State.BulkLine;
          break;
        }
        case State.InlineLine:
        case State.CountLine:
        case State.BulkLine: {
          const newline = findLineFeed(chunk, pos, end);
          if (newline < 0) {
            this.linePieces.push(chunk.subarray(pos));
            this.linePiecesBytes += end - pos;
            pos = end;
            // The line will be longer than this, whatever comes next: fail now, not when it ends.
            if (this.linePiecesBytes > this.maxInlineBytes) return this.fail(commands, this.tooLongLineError());
            break;
          }
          let error: string | undefined;
          if (this.linePieces.length === 0) {
            // The common case: the line is inside this chunk; read it in place.
            error = this.onLine(chunk, pos, newline, commands);
          } else {
            this.linePieces.push(chunk.subarray(pos, newline));
            const line = Buffer.concat(this.linePieces, this.linePiecesBytes + newline - pos);
            this.linePieces = [];
            this.linePiecesBytes = 0;
            error = this.onLine(line, 0, line.length, commands);
          }
          pos = newline + 1;
          if (error !== undefined) return this.fail(commands, error);
          break;
        }
        case State.BulkData: {
          const needed = this.bulkLength + 2;
          if (this.bulkCopy === null) {
            if (end - pos >= needed) {
              // The whole bulk string is in this chunk: a view, no copy.
              if (chunk[pos + this.bulkLength] !== CR || chunk[pos + this.bulkLength + 1] !== LF) {
                return this.fail(commands, RespProtocolErrors.missingBulkCrlf);
              }
              const argument = chunk.subarray(pos, pos + this.bulkLength);
              pos += needed;
              this.onArgument(argument, commands);
            } else {
              this.bulkCopy = Buffer.allocUnsafe(needed);
              chunk.copy(this.bulkCopy, 0, pos, end);
              this.bulkCopyFilled = end - pos;
              pos = end;
            }
          } else {
            const copied = chunk.copy(this.bulkCopy, this.bulkCopyFilled, pos, Math.min(end, pos + needed - this.bulkCopyFilled));
            this.bulkCopyFilled += copied;
            pos += copied;
            if (this.bulkCopyFilled === needed) {
              const copy = this.bulkCopy;
              this.bulkCopy = null;
              this.bulkCopyFilled = 0;
              if (copy[this.bulkLength] !== CR || copy[this.bulkLength + 1] !== LF) {
                return this.fail(commands, RespProtocolErrors.missingBulkCrlf);
              }
              this.onArgument(copy.subarray(0, this.bulkLength), commands);
            }
          }
          break;
        }
      }
    }
    return commands.length === 0 ? EMPTY_RESULT : { commands, protocolError: undefined };
  }

  /** Handles one complete line, bytes[start, end) without its LF; returns an error line or undefined. */
  private onLine(bytes: Buffer, start: number, end: number, commands: Buffer[][]): string | undefined {
    if (end - start > this.maxInlineBytes) return this.tooLongLineError();
    const endsWithCr = end > start && bytes[end - 1] === CR;
    switch (this.state) {
      case State.InlineLine: {
        const argv = splitInlineArguments(bytes.subarray(start, endsWithCr ? end - 1 : end));
        if (argv === undefined) return RespProtocolErrors.unbalancedQuotes;
        // An empty line is skipped, as Redis does (it lets telnet users press enter).
        if (argv.length > 0) commands.push(argv);
        this.state = State.CommandStart;
        return undefined;
      }
      case State.CountLine: {
        assert(bytes[start] === STAR, 'a count line starts with *');
        const count = endsWithCr ? parseInteger(bytes, start + 1, end - 1) : Number.NaN;
        if (Number.isNaN(count) || count > this.maxArrayLength) return RespProtocolErrors.invalidMultibulkLength;
        if (count <= 0) {
          // `*0` and `*-1` are empty commands that Redis skips.
          this.state = State.CommandStart;
          return undefined;
        }
        this.argv = [];
        this.argsRemaining = count;
        this.commandBytes = 0;
        this.state = State.BulkStart;
        return undefined;
      }
      case State.BulkLine: {
        assert(bytes[start] === DOLLAR, 'a bulk line starts with $');
        const length = endsWithCr ? parseInteger(bytes, start + 1, end - 1) : Number.NaN;
        if (Number.isNaN(length) || length < 0 || length > this.maxBulkBytes) return RespProtocolErrors.invalidBulkLength;
        this.commandBytes += length;
        if (this.commandBytes > this.maxCommandBytes) return RespProtocolErrors.commandTooLarge;
        this.bulkLength = length;
        this.state = State.BulkData;
        return undefined;
      }
      default:
        assert(false, 'onLine is called in a line state');
    }
  }

  private onArgument(argument: Buffer, commands: Buffer[][]): void {
    assert(this.argsRemaining > 0, 'an argument belongs to a command being read');
    this.argv.push(argument);
    this.argsRemaining -= 1;
    if (this.argsRemaining === 0) {
      commands.push(this.argv);
      this.argv = [];
      this.state = State.CommandStart;
    } else {
      this.state = State.BulkStart;
    }
  }

  private tooLongLineError(): string {
    if (this.state === State.CountLine) return RespProtocolErrors.tooBigMultibulkCount;
    if (this.state === State.BulkLine) return RespProtocolErrors.tooBigBulkCount;
    return RespProtocolErrors.tooBigInline;
  }

  private fail(commands: Buffer[][], protocolError: string): RespParseResult {
    this.state = State.Failed;
    // Drop references to buffered input: nothing more will be parsed.
    this.linePieces = [];
    this.argv = [];
    this.bulkCopy = null;
    return { commands, protocolError };
  }
}

/** Header lines are short: a JS scan of this many bytes beats a native indexOf call; longer lines use indexOf. */
const LINE_SCAN_INLINE_BYTES = 24;

/** Index of the first LF in bytes[from, end), or -1. */
function findLineFeed(bytes: Buffer, from: number, end: number): number {
  const scanEnd = Math.min(end, from + LINE_SCAN_INLINE_BYTES);
  for (let i = from; i < scanEnd; i += 1) if (bytes[i] === LF) return i;
  return scanEnd < end ? bytes.indexOf(LF, scanEnd) : -1;
}

/**
 * Parses a decimal integer in bytes [start, end) as Redis's string2ll does: optional '-', no '+',
 * no leading zeros, no spaces. Returns NaN when invalid or longer than 15 digits (any such number
 * is beyond every bound here, and 15 digits stay exact in a double).
 */
export function parseInteger(bytes: Uint8Array, start: number, end: number): number {
  let pos = start;
  let negative = false;
  if (pos < end && bytes[pos] === 0x2d) {
    negative = true;
    pos += 1;
  }
  const digits = end - pos;
  if (digits < 1 || digits > 15) return Number.NaN;
  if (bytes[pos] === 0x30) return digits === 1 && !negative ? 0 : Number.NaN;
  let value = 0;
  for (; pos < end; pos += 1) {
    const digit = (bytes[pos] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function isInlineBlank(byte: number): boolean {
  // isspace() in the C locale: space, \t, \n, \v, \f, \r.
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function isHexDigit(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

function hexValue(byte: number): number {
  if (byte <= 0x39) return byte - 0x30;
  if (byte <= 0x46) return byte - 0x41 + 10;
  return byte - 0x61 + 10;
}

/**
 * Splits an inline command line like Redis's sdssplitargs. Returns undefined on unbalanced quotes
 * (or a closing quote not followed by a blank). Unquoted arguments are views of `line`; quoted
 * ones are copies. Unlike sdssplitargs (a C-string function), a NUL byte is an ordinary byte.
 */
export function splitInlineArguments(line: Buffer): Buffer[] | undefined {
  const args: Buffer[] = [];
  const end = line.length;
  let pos = 0;
  for (;;) {
    while (pos < end && isInlineBlank(line[pos] as number)) pos += 1;
    if (pos >= end) return args;
    const start = pos;
    // Fast path: an unquoted argument is a view of the line.
    while (pos < end) {
      const byte = line[pos] as number;
      if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x22 || byte === 0x27) break;
      pos += 1;
    }
    const stop = pos < end ? (line[pos] as number) : -1;
    if (stop !== 0x22 && stop !== 0x27) {
      args.push(line.subarray(start, pos));
      continue;
    }
    // Slow path: the argument has quotes; build it byte by byte.
    const bytes: number[] = [];
    for (let i = start; i < pos; i += 1) bytes.push(line[i] as number);
    let done = false;
    let inDouble = false;
    let inSingle = false;
    while (!done) {
      const byte = pos < end ? (line[pos] as number) : -1;
      const next = pos + 1 < end ? (line[pos + 1] as number) : -1;
      if (inDouble) {
        if (byte === -1) return undefined;
        if (byte === 0x5c && next === 0x78 && isHexDigit(line[pos + 2]) && isHexDigit(line[pos + 3])) {
          bytes.push(hexValue(line[pos + 2] as number) * 16 + hexValue(line[pos + 3] as number));
          pos += 3;
        } else if (byte === 0x5c && next !== -1) {
          pos += 1;
          bytes.push(next === 0x6e ? 0x0a : next === 0x72 ? 0x0d : next === 0x74 ? 0x09 : next === 0x62 ? 0x08 : next === 0x61 ? 0x07 : next);
        } else if (byte === 0x22) {
          if (next !== -1 && !isInlineBlank(next)) return undefined;
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (inSingle) {
        if (byte === -1) return undefined;
        if (byte === 0x5c && next === 0x27) {
          pos += 1;
          bytes.push(0x27);
        } else if (byte === 0x27) {
          if (next !== -1 && !isInlineBlank(next)) return undefined;
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (byte === -1 || byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) {
        done = true;
      } else if (byte === 0x22) {
        inDouble = true;
      } else if (byte === 0x27) {
        inSingle = true;
      } else {
        bytes.push(byte);
      }
      if (byte !== -1) pos += 1;
    }
    args.push(Buffer.from(bytes));
  }
}
