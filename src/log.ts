/**
 * Plain, greppable log lines on stderr: `time level message key=value ...`. One logger for the process.
 */
import type { LogLevel } from './config/config.ts';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const at =
    (lineLevel: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[lineLevel] < ORDER[level]) return;
      const extra = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(
          ([key, value]) =>
            `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
        )
        .join(' ');
      write(`${new Date().toISOString()} ${lineLevel.padEnd(5)} ${message}${extra ? ` ${extra}` : ''}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
