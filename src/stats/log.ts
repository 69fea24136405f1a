/*
 * Logging: pino, JSON lines on stdout, readable lines when stdout is a TTY.
 * Loggers are created once (a child per port or controller); nothing logs
 * per frame, and the datapath never calls a logger from its hot path.
 */

import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const base = { name: 'linc-ts' };
  const usePretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) {
    return pino({ level, base }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', sync: true }));
  }
  return pino({ level, base }, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}
