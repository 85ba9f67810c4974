/**
 * The zod the project uses at run time: zod/mini with English messages. zod/mini keeps the api function's
 * bundle small (the classic build carries every locale; see docs/performance.md).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export { z };
