// The demo agent of the `default` local profile: a tiny HTTP server that shows its identity and keeps
// files in the chat directory, so chat storage can be seen to outlive a sandbox.
//   GET /               -> { chatId, sessionId, agentId, sessions } (sessions: every session that ran here)
//   PUT /files/<name>   -> stores the body under CHAT_DIR
//   GET /files/<name>   -> reads it back
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const { AGENT_ID, CHAT_ID, SESSION_ID, CHAT_DIR, PORT, HOST = '127.0.0.1' } = process.env;
mkdirSync(CHAT_DIR, { recursive: true });
const sessionsFile = join(CHAT_DIR, '.sessions');
appendFileSync(sessionsFile, `${SESSION_ID}\n`);

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://sandbox');
  if (req.method === 'GET' && url.pathname === '/') {
    const sessions = readFileSync(sessionsFile, 'utf8').split('\n').filter(Boolean);
    return json(res, 200, { chatId: CHAT_ID, sessionId: SESSION_ID, agentId: AGENT_ID, sessions });
  }
  const file = /^\/files\/([A-Za-z0-9._-]{1,128})$/.exec(url.pathname)?.[1];
  if (file && req.method === 'PUT') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      writeFileSync(join(CHAT_DIR, file), Buffer.concat(chunks));
      json(res, 200, { stored: file });
    });
    return undefined;
  }
  if (file && req.method === 'GET') {
    try {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(readFileSync(join(CHAT_DIR, file)));
    } catch {
      return json(res, 404, { error: 'no such file' });
    }
  }
  return json(res, 404, { error: 'not found' });
});

server.listen(Number(PORT), HOST);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
