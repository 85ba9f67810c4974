/**
 * The storage function: the chat storage routes (API Gateway sends it only those), and the
 * reconciler's requests to remove a purged chat's directory. It runs inside the VPC with the file
 * system's `/chats` mounted through an access point, because the chats' files are on EFS and the
 * api function runs outside the VPC (no NAT: nothing billed while idle). It reaches DynamoDB
 * through the VPC's gateway endpoint and nothing else; it starts no sandbox.
 *
 * API Gateway hands it binary bodies base64-encoded inside Lambda's 6 MB payload, hence the 4 MiB
 * file limit (AWS_MAX_FILE_BYTES); answers are base64-encoded back, so bytes pass unchanged
 * whatever their content type says.
 */
import { join } from 'node:path';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { chatDirectoryBelowChats } from '../adapters/aws-naming.js';
import { DynamoChatPurges } from '../adapters/dynamodb/chat-purges.js';
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoStorageUsageStore } from '../adapters/dynamodb/storage-usage-store.js';
import { PosixChatFiles } from '../adapters/fs/chat-tree.js';
import {
  type DirectoryRemoval,
  type DirectoryRemovalResult,
  directoryRemovalOf,
} from '../adapters/lambda/directory-removal.js';
import { authSection, storageSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, withProfiles } from '../config/lifecycle.js';
import { PURGE_SETTLE_MS } from '../core/chat-purge.js';
import type { StorageDeps } from '../core/chat-storage.js';
import { isTerminal } from '../core/model.js';
import { createApp } from '../http/app.js';
import { registerStorageRoutes } from '../http/routes/storage-routes.js';
import { SERVICES } from '../names.js';
import { apiGatewayAppDeps, requestIdOf } from './api-gateway.js';
import { coreWithoutRuntime } from './no-runtime.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/**
 * Chat directories are made 0750, files 0640: what the per-chat access points give the directories
 * EFS creates for a sandbox, so both ways in leave the same modes.
 */
const DIRECTORY_MODE = 0o750;

/**
 * Every answer goes back base64-encoded. Told it is text, `hono/aws-lambda` reads a body as UTF-8,
 * which strips a byte-order mark and replaces what is not UTF-8 (a `.json` file is
 * `application/json`, and a range may cut a character in two); the JSON answers are small.
 */
const everyAnswerBinary = () => true;

/** The storage function's handler; throws `ConfigError` naming every bad variable. */
export function createStorageHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, {
    table: tableSection,
    auth: authSection,
    storage: storageSection,
    lifecycle: lifecycleSection(),
  });
  const observability = createObservability(SERVICES.storage);
  const { tracer } = observability;
  const logger = coreLogger(observability.logger);
  const dynamodb = tracer.captureAWSv3Client(createDynamoClient({ endpoint: config.table.dynamodbEndpoint }));
  const { tableName } = config.table;
  // No profiles: this function serves no sandbox route.
  const core = coreWithoutRuntime(
    dynamodb,
    tableName,
    withProfiles(config.lifecycle, { names: [], envAllowLists: {} }),
    logger,
  );
  const storage: StorageDeps = {
    core,
    files: new PosixChatFiles({
      rootOf: (key) => join(config.storage.chatsRoot, chatDirectoryBelowChats(key)),
      mode: DIRECTORY_MODE,
    }),
    usage: new DynamoStorageUsageStore(dynamodb, tableName),
    purges: new DynamoChatPurges(dynamodb, tableName),
    config: config.storage.limits,
  };
  const app = createApp({
    core,
    ...apiGatewayAppDeps(config.auth, observability.logger),
    moreRoutes: (router) => registerStorageRoutes(router, storage),
  });
  const answer = handle(app, { isContentTypeBinary: everyAnswerBinary });
  return instrument(observability, requestIdOf, async (event: unknown, context: LambdaContext) => {
    const removal = directoryRemovalOf(event);
    if (removal) return removeChatDirectory(storage, removal);
    return answer(event as LambdaEvent, context);
  });
}

/**
 * Removes a purged chat's directory, if the chat is purging under the mark the reconciler read, the
 * purge has settled (no write that began before the mark is still running) and its fence stands
 * (no create can claim the chat); anything else is refused and the directory stays. The function
 * checks for itself, so an early, stale or stray request removes nothing a chat still uses.
 */
export async function removeChatDirectory(
  deps: StorageDeps,
  removal: DirectoryRemoval,
): Promise<DirectoryRemovalResult> {
  const key = { tenant: removal.tenant, chatId: removal.chatId };
  if (deps.core.clock.now() < removal.purgingAt + PURGE_SETTLE_MS) {
    return { removed: false, reason: 'the purge has not settled yet' };
  }
  const [chat, session, fenced] = await Promise.all([
    deps.core.quotas.getChat(key),
    deps.core.store.get(key),
    deps.purges.isFenced(key, removal.purgingAt),
  ]);
  if (chat?.purgingAt !== removal.purgingAt) {
    return { removed: false, reason: 'the chat is not purging under this mark' };
  }
  if (!fenced || (session && !isTerminal(session))) {
    return { removed: false, reason: "the chat's session is not fenced for this purge" };
  }
  await deps.files.purge(key);
  deps.core.logger.info('purged chat directory removed', { ...key });
  return { removed: true };
}
