import { randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from './ports.js';

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Random v4 UUIDs as session ids. */
export const randomIds: IdGenerator = { sessionId: () => randomUUID() };
