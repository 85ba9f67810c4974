// The example agent: what an agent image must do to run in a sandbox, in one dependency-free file.
// It is the `default` profile of local mode and builds into an image with the Dockerfile beside it
// (docs/agent-contract.md). It listens on HOST:PORT, answers its health check, and keeps the chat's
// files, and a history.md, in CHAT_DIR, which outlives every sandbox of the chat.
//   GET  /health         -> 200 once it can serve (the profile's health check)
//   GET  /               -> { chatId, sessionId, agentId, sessions } (sessions: every session that ran here)
//   PUT  /files/<name>   -> stores the body under CHAT_DIR
//   GET  /files/<name>   -> reads it back
//   GET  /history        -> history.md
//   POST /history        -> appends the body to history.md, as one entry of this session
//   GET  /tools          -> the names in TOOLS_DIR (shared, read-only)
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const { AGENT_ID, CHAT_ID, SESSION_ID, CHAT_DIR, TOOLS_DIR, PORT, HOST = '0.0.0.0' } = process.env;
mkdirSync(CHAT_DIR, { recursive: true });
const sessionsFile = join(CHAT_DIR, '.sessions');
appendFileSync(sessionsFile, `${SESSION_ID}\n`);
const historyFile = join(CHAT_DIR, 'history.md');

const MAX_BODY = 1024 * 1024;

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** The request body, up to 1 MiB; null when it is larger. */
const body = (req) =>
  new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_BODY ? Buffer.concat(chunks) : null));
  });

/** Answers one request; anything that throws is a 500 for that request, never the process's end. */
const handle = async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://sandbox');
  if (req.method === 'GET' && url.pathname === '/health') return json(res, 200, { ok: true });
  if (req.method === 'GET' && url.pathname === '/') {
    const sessions = readFileSync(sessionsFile, 'utf8').split('\n').filter(Boolean);
    return json(res, 200, { chatId: CHAT_ID, sessionId: SESSION_ID, agentId: AGENT_ID, sessions });
  }
  if (url.pathname === '/history' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8' });
    return res.end(existsSync(historyFile) ? readFileSync(historyFile) : '');
  }
  if (url.pathname === '/history' && req.method === 'POST') {
    const text = await body(req);
    if (text === null) return json(res, 413, { error: 'body over 1 MiB' });
    appendFileSync(
      historyFile,
      `\n## ${new Date().toISOString()} (${SESSION_ID})\n\n${text.toString('utf8').trim()}\n`,
    );
    return json(res, 200, { appended: text.length });
  }
  if (url.pathname === '/tools' && req.method === 'GET') {
    return json(res, 200, { tools: TOOLS_DIR && existsSync(TOOLS_DIR) ? readdirSync(TOOLS_DIR) : [] });
  }
  const file = /^\/files\/([A-Za-z0-9._-]{1,128})$/.exec(url.pathname)?.[1];
  if (file && req.method === 'PUT') {
    const content = await body(req);
    if (content === null) return json(res, 413, { error: 'body over 1 MiB' });
    writeFileSync(join(CHAT_DIR, file), content);
    return json(res, 200, { stored: file });
  }
  if (file && req.method === 'GET') {
    let content;
    try {
      content = readFileSync(join(CHAT_DIR, file));
    } catch {
      return json(res, 404, { error: 'no such file' });
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return res.end(content);
  }
  return json(res, 404, { error: 'not found' });
};

const server = createServer((req, res) => {
  req.on('error', () => res.destroy());
  handle(req, res).catch((error) => {
    console.error(`${req.method} ${req.url} failed: ${error.message}`);
    if (!res.headersSent) json(res, 500, { error: 'internal' });
    else res.destroy();
  });
});

// One line per start and per request: what `GET /v1/chats/{chatId}/sandbox/logs` shows.
server.on('request', (req) => {
  if (req.url !== '/health') console.log(`${req.method} ${req.url}`);
});
server.listen(Number(PORT), HOST, () =>
  console.log(`agent ${AGENT_ID} of chat ${CHAT_ID} listening on ${HOST}:${PORT}`),
);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
