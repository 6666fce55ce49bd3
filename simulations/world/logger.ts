/**
 * The logger the simulated nodes get: silent by default (a run logs millions of lines), counting
 * warnings and errors per message so a run can report them, and printing with the virtual time
 * when verbose.
 */
import type { Logger } from '../../src/core/env.js';

export interface LogSink {
  /** Least level printed: 'none' (default), 'error', 'warn', 'info' or 'debug'. */
  readonly printLevel: 'none' | 'error' | 'warn' | 'info' | 'debug';
  readonly now: () => number;
  /** Count of warn/error lines by "level: message". */
  readonly counts: Map<string, number>;
}

const RANK = { debug: 1, info: 2, warn: 3, error: 4, none: 5 } as const;

export function createLogSink(now: () => number, printLevel: LogSink['printLevel'] = 'none'): LogSink {
  return { printLevel, now, counts: new Map() };
}

export class SimLogger implements Logger {
  constructor(private readonly sink: LogSink, private readonly bindings: Record<string, unknown>) {}

  private log(level: 'debug' | 'info' | 'warn' | 'error', obj: object, msg?: string): void {
    if (level === 'warn' || level === 'error') {
      const key = `${level}: ${msg ?? ''}`;
      this.sink.counts.set(key, (this.sink.counts.get(key) ?? 0) + 1);
    }
    if (RANK[level] >= RANK[this.sink.printLevel]) {
      const fields = { ...this.bindings, ...obj } as Record<string, unknown>;
      if (fields.err instanceof Error) fields.err = fields.err.message;
      console.log(`${this.sink.now().toFixed(3)} ${level} ${msg ?? ''} ${JSON.stringify(fields)}`);
    }
  }

  trace(): void {}

  debug(obj: object, msg?: string): void {
    if (this.sink.printLevel === 'debug') this.log('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    if (RANK[this.sink.printLevel] <= RANK.info) this.log('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    this.log('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    this.log('error', obj, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new SimLogger(this.sink, { ...this.bindings, ...bindings });
  }
}
