/**
 * The API's contract as committed in docs/openapi.json: every route of both hosts (the logs route,
 * chat storage, and local mode's event stream, marked as such), the bounds every deployment shares, and the default
 * servers. A served document differs only in `servers` and in the configured bounds.
 *
 * `npm run openapi` writes the file; `npm run openapi -- --check` fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SERVERS, openApiDocument } from '../http/openapi.js';
import { SHARED_ROUTES } from '../http/routes/catalogue.js';
import { getLogsRoute } from '../http/routes/logs-routes.js';
import { STORAGE_ROUTES } from '../http/routes/storage-routes.js';
import { eventsRoute } from '../local/events-route.js';
import { VERSION } from '../version.js';

export const DOCUMENT_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

/** The contract document. */
export function contractDocument(): Record<string, unknown> {
  return openApiDocument([...SHARED_ROUTES, getLogsRoute, ...STORAGE_ROUTES, eventsRoute], {
    version: VERSION,
    servers: DEFAULT_SERVERS,
  });
}

/** The document as committed: two-space JSON with a final newline. */
export function contractText(): string {
  return `${JSON.stringify(contractDocument(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const text = contractText();
  if (check) {
    const committed = readFileSync(DOCUMENT_FILE, 'utf8');
    if (committed !== text) {
      process.stderr.write('docs/openapi.json is stale: run `npm run openapi`\n');
      process.exit(1);
    }
  } else {
    writeFileSync(DOCUMENT_FILE, text);
    process.stdout.write(`wrote ${DOCUMENT_FILE}\n`);
  }
}
