/** The chat storage commands: files, upload, download, rm, history. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { ChatFile, FileRange } from '../client/index.js';
import { getFileRoute, listFilesRoute, putFileRoute } from '../http/routes/storage-routes.js';
import { OwnerIdField } from '../http/schemas.js';
import type * as z from '../zod.js';
import { chatIdOf, onePositional, positionalsOf, schemaUsageError } from './args.js';
import type { Command, CommandRun } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { fileTable } from './format.js';

const FLAG_OF_FIELD: Record<string, string> = {
  path: '<path>',
  ownerId: '--owner',
  prefix: '--prefix',
  limit: '--limit',
  cursor: '--cursor',
};
const flagOf = (path: readonly PropertyKey[]) =>
  FLAG_OF_FIELD[String(path[0])] ?? String(path[0] ?? 'request');

/** The route's own schema checks `input` before it is sent; a failure is a usage error naming flags. */
function checked<S extends z.ZodMiniType>(
  command: string,
  schema: S,
  input: z.input<S>,
  flagOfPath: (path: readonly PropertyKey[]) => string = flagOf,
): z.input<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw schemaUsageError(command, result.error.issues, flagOfPath);
  return input;
}

/** The one positional, a chat id. */
const chatOf = (run: CommandRun, command: string) =>
  chatIdOf(command, onePositional(command, run.positionals, 'chatId'));

/** The chat id and one more positional, `name`. */
function chatAnd(run: CommandRun, command: string, name: string): [string, string] {
  const [chat, other] = positionalsOf(command, run.positionals, ['chatId', name]);
  return [chatIdOf(command, chat!), other!];
}

const signalOf = (run: CommandRun) => ({ signal: run.io.signal });

/** A local file's bytes; one that cannot be read is a usage error (nothing was sent). */
async function readLocal(run: CommandRun, command: string, file: string): Promise<Buffer> {
  try {
    return await readFile(resolve(run.io.cwd, file));
  } catch (error) {
    throw new UsageError(`cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? error}`, command);
  }
}

const files: Command = {
  name: 'files',
  summary: "List a chat's files and the bytes they hold",
  usage: 'files <chatId> [--prefix <p>] [--limit N] [--cursor <c>] [--all]',
  help: `  --prefix <p>   only paths that start with this text (attachments/)
  --limit N      page size (1-1000, default 100)
  --cursor <c>   the page after a previous one (its next cursor)
  --all          every page
Prints a table (path, size in bytes, modified) and the chat's total bytes; --json prints
{items, totalBytes, nextCursor} (with --all, every item and nextCursor null).`,
  options: {
    prefix: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  async run(run) {
    const { flags, client } = run;
    const chatId = chatOf(run, 'files');
    const query = checked('files', listFilesRoute.query, {
      ...(flags.string('prefix') === undefined ? {} : { prefix: flags.string('prefix') }),
      ...(flags.string('cursor') === undefined ? {} : { cursor: flags.string('cursor') }),
      ...(flags.string('limit') === undefined ? {} : { limit: flags.integer('limit', 1, 1000) }),
    });
    let page = await client.listFiles(chatId, query, signalOf(run));
    if (flags.boolean('all')) {
      const items: ChatFile[] = [...page.items];
      while (page.nextCursor) {
        page = await client.listFiles(chatId, { ...query, cursor: page.nextCursor }, signalOf(run));
        items.push(...page.items);
      }
      page = { items, totalBytes: page.totalBytes, nextCursor: null };
    }
    if (run.json) run.out(JSON.stringify(page, null, 2));
    else {
      run.out(fileTable(page.items));
      run.out(`total: ${page.totalBytes} bytes in the chat`);
      if (page.nextCursor) run.out(`more: sandboxctl files ${chatId} --cursor ${page.nextCursor} (or --all)`);
    }
    return EXIT.ok;
  },
};

const upload: Command = {
  name: 'upload',
  summary: 'Write a local file into a chat',
  usage: 'upload <chatId> <localFile> [--path <dest>] [--owner <id>] [--no-overwrite]',
  help: `  --path <dest>    where in the chat (default: the local file's name)
  --owner <id>     claim an unowned chat for this owner (its bytes count against their quota)
  --no-overwrite   only create: an existing file is refused (412, exit 1)
Prints 'created' or 'replaced', the path, size and ETag; --json prints {file, created}.`,
  options: { path: { type: 'string' }, owner: { type: 'string' }, 'no-overwrite': { type: 'boolean' } },
  async run(run) {
    const { flags } = run;
    const [chatId, localFile] = chatAnd(run, 'upload', 'localFile');
    const query = checked(
      'upload',
      putFileRoute.query,
      {
        path: flags.string('path') ?? basename(localFile),
        ...(flags.string('owner') === undefined ? {} : { ownerId: flags.string('owner') }),
      },
      (path) => (path[0] === 'path' ? '--path' : flagOf(path)),
    );
    const body = await readLocal(run, 'upload', localFile);
    const written = await run.client.putFile(chatId, query.path, body, {
      ifNoneMatch: flags.boolean('no-overwrite'),
      ...(query.ownerId === undefined ? {} : { ownerId: query.ownerId }),
      ...signalOf(run),
    });
    if (run.json) run.out(JSON.stringify(written, null, 2));
    else {
      const { file } = written;
      run.out(
        `${written.created ? 'created' : 'replaced'} ${file.path} (${file.size} bytes, etag ${file.etag})`,
      );
    }
    return EXIT.ok;
  },
};

/** `--range`: `a-b`, `a-` (to the end) or `-n` (the last n bytes). */
function rangeOf(run: CommandRun, text: string): FileRange {
  const match = /^(\d{0,15})-(\d{0,15})$/.exec(text);
  if (match && match[1] !== '') {
    const start = Number(match[1]);
    if (match[2] === '') return { start };
    if (Number(match[2]) >= start) return { start, end: Number(match[2]) };
  } else if (match && match[2] !== '' && Number(match[2]) > 0) return { suffix: Number(match[2]) };
  throw run.flags.usage(`--range takes <start>-<end>, <start>- or -<count> bytes, not '${text}'`);
}

const download: Command = {
  name: 'download',
  summary: 'Read a file of a chat into a local file or stdout',
  usage: 'download <chatId> <path> [--out <file> | --out -] [--force] [--range <a-b>]',
  help: `  --out <file>    write it here; - for stdout. Default: stdout when it is not a terminal,
                  else a file named as the path's last segment in the current folder
  --force         overwrite an existing local file (otherwise refused, exit 2)
  --range <a-b>   only bytes a to b (from 0, inclusive); a- to the end, --range=-n the last n
Writes the bytes. To a file it prints where, the bytes and the ETag; --json prints
{path, out, size, etag, contentType, range?} (size: the whole file's).`,
  options: { out: { type: 'string' }, force: { type: 'boolean' }, range: { type: 'string' } },
  async run(run) {
    const { flags } = run;
    const [chatId, path] = chatAnd(run, 'download', 'path');
    checked('download', getFileRoute.query, { path });
    const rangeText = flags.string('range');
    const range = rangeText === undefined ? undefined : rangeOf(run, rangeText);
    const out = flags.string('out') ?? (run.io.stdout.isTTY ? basename(path) : '-');
    if (out === '-' && run.json) throw flags.usage('--json needs --out <file>: the bytes go to stdout');
    const target = out === '-' ? null : resolve(run.io.cwd, out);
    const force = flags.boolean('force');
    const refuse = () => flags.usage(`'${out}' exists; --force overwrites it`);
    if (target && !force && existsSync(target)) throw refuse();

    const file = await run.client.getFile(chatId, path, { ...(range ? { range } : {}), ...signalOf(run) });
    if (!target) {
      run.io.stdout.write(file.body);
      return EXIT.ok;
    }
    try {
      await writeFile(target, file.body, { flag: force ? 'w' : 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw refuse();
      throw new Error(`cannot write '${out}': ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    const { size, etag, contentType } = file;
    if (run.json) {
      run.out(JSON.stringify({ path, out: target, size, etag, contentType, range: file.range }, null, 2));
      return EXIT.ok;
    }
    const bytes = file.range ? `bytes ${file.range.start}-${file.range.end} of ${size}` : `${size} bytes`;
    run.out(`saved ${path} to ${out} (${bytes}, etag ${etag})`);
    return EXIT.ok;
  },
};

const rm: Command = {
  name: 'rm',
  summary: 'Remove a file of a chat',
  usage: 'rm <chatId> <path>',
  help: `Prints 'deleted', or that there was no such file (also exit 0); --json prints {result}.`,
  options: {},
  async run(run) {
    const [chatId, path] = chatAnd(run, 'rm', 'path');
    checked('rm', getFileRoute.query, { path });
    const removed = await run.client.deleteFile(chatId, path, signalOf(run));
    if (run.json) run.out(JSON.stringify(removed, null, 2));
    else if (removed.result === 'deleted') run.out(`deleted ${path}`);
    else run.out(`not_found: chat ${chatId} has no file '${path}'`);
    return EXIT.ok;
  },
};

const history: Command = {
  name: 'history',
  summary: "Print a chat's history.md, append to it, or replace it",
  usage: 'history <chatId> [--append <text> | --set <file>] [--owner <id>]',
  help: `  --append <text>   append exactly this text (add the line break yourself: $'line\\n')
  --set <file>      replace the history with this local file
  --owner <id>      with --append or --set: claim an unowned chat for this owner
Without a flag, prints the markdown as it is. A write prints the new size; --json prints {file, created}.`,
  options: { append: { type: 'string' }, set: { type: 'string' }, owner: { type: 'string' } },
  async run(run) {
    const { flags, client } = run;
    const chatId = chatOf(run, 'history');
    const append = flags.string('append');
    const set = flags.string('set');
    const ownerId = flags.string('owner');
    if (append !== undefined && set !== undefined) throw flags.usage('give --append or --set, not both');
    if (append === undefined && set === undefined) {
      if (ownerId !== undefined) throw flags.usage('--owner goes with --append or --set');
      run.io.stdout.write(await client.getHistory(chatId, signalOf(run)));
      return EXIT.ok;
    }
    if (ownerId !== undefined) checked('history', OwnerIdField, ownerId, () => '--owner');
    const options = { ...(ownerId === undefined ? {} : { ownerId }), ...signalOf(run) };
    const written =
      append !== undefined
        ? await client.appendHistory(chatId, append, options)
        : await client.putHistory(chatId, await readLocal(run, 'history', set!), options);
    if (run.json) run.out(JSON.stringify(written, null, 2));
    else
      run.out(`${append !== undefined ? 'appended to' : 'replaced'} history.md (${written.file.size} bytes)`);
    return EXIT.ok;
  },
};

const purge: Command = {
  name: 'purge',
  summary: 'Purge a chat: its files, history and records (its sandbox must have stopped)',
  usage: 'purge <chatId>',
  help: `Prints 'purging' (everything is gone some 15 s later; the chat takes no sandbox or write
meanwhile) or 'not_found' (exit 0). A chat whose sandbox has not stopped is chat_has_active_sandbox
(exit 1): delete the sandbox first. --json prints {result, purgingAt}.`,
  options: {},
  async run(run) {
    const chatId = chatOf(run, 'purge');
    const purged = await run.client.purgeChat(chatId, signalOf(run));
    if (run.json) run.out(JSON.stringify(purged, null, 2));
    else if (purged.result === 'purging') run.out(`purging chat ${chatId} (since ${purged.purgingAt})`);
    else run.out(`not_found: chat ${chatId} has nothing to purge`);
    return EXIT.ok;
  },
};

export const STORAGE_COMMANDS: readonly Command[] = [files, upload, download, rm, history, purge];
