/**
 * pino loggers with the node id on every line. JSON in production; human-readable (pino-pretty)
 * when stdout is a terminal or when asked, as with `npm start`.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  /** Node id, bound on every line as `node`. */
  readonly nodeId: string;
  /** Minimum level (default "info"; RINGKV_LOG_LEVEL). */
  readonly level?: LevelWithSilent | undefined;
  /** "auto" (default) is pretty when stdout is a TTY, JSON otherwise. */
  readonly format?: LogFormat | undefined;
  /** Write to this file descriptor (default 1, stdout). */
  readonly fd?: number | undefined;
}

export function createLogger(options: LoggerOptions): PinoLogger {
  const format = options.format ?? 'auto';
  const fd = options.fd ?? 1;
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true && fd === 1);
  const base = { level: options.level ?? 'info', base: { node: options.nodeId, pid: process.pid } };
  if (pretty) {
    return pino(base, pino.transport({
      target: 'pino-pretty',
      options: { destination: fd, colorize: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,node', messageFormat: '[{node}] {msg}' },
    }));
  }
  return pino(base, pino.destination({ fd, sync: false }));
}
