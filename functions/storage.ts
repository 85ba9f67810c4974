/** Lambda entry: the chat storage routes (API Gateway, payload 2.0) and the reconciler's directory removals. */
import { createStorageHandler } from '../src/aws/storage.js';

export const handler = createStorageHandler();
