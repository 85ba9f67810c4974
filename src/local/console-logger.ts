import type { Logger } from '../core/ports.js';

/** Local mode's logger: one readable line per event on stderr, errors reduced to name and message. */
export function consoleLogger(minLevel: 'info' | 'warn' | 'error' = 'info'): Logger {
  const levels = ['info', 'warn', 'error'] as const;
  const line = (level: (typeof levels)[number], message: string, extra?: Record<string, unknown>) => {
    if (levels.indexOf(level) < levels.indexOf(minLevel)) return;
    const fields = extra
      ? ` ${JSON.stringify(extra, (_key, value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : value))}`
      : '';
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${fields}\n`);
  };
  return {
    info: (message, extra) => line('info', message, extra),
    warn: (message, extra) => line('warn', message, extra),
    error: (message, extra) => line('error', message, extra),
  };
}
