// A sandbox for the logs tests: serves HTTP on HOST:PORT (so it becomes running) and writes to
// stdout what it is told. POST /print with { "lines": [...] } writes each line and a newline;
// { "base64": "..." } writes those bytes as they are. On SIGTERM it writes "bye" (no newline) and exits.

import { writeSync } from 'node:fs';
import { createServer } from 'node:http';

const { HOST = '127.0.0.1', PORT } = process.env;
writeSync(1, 'started\n');

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/print') return res.writeHead(200).end('ok');
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const order = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (order.lines) writeSync(1, order.lines.map((line) => `${line}\n`).join(''));
    if (order.base64) writeSync(1, Buffer.from(order.base64, 'base64'));
    res.writeHead(204).end();
  });
});
server.listen(Number(PORT), HOST);
process.on('SIGTERM', () => {
  writeSync(1, 'bye');
  process.exit(0);
});
