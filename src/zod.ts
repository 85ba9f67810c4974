/**
 * The zod the project uses at run time: zod/mini with English messages, imported as
 * `import * as z from '../zod.js'`. zod/mini keeps the api function's bundle small: the classic
 * build carries every locale (see docs/performance.md). Re-exported with `export *`, so a bundler
 * keeps only the parts the code uses.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
