/** Human output of `sandboxctl`: summaries and aligned tables (`--json` prints the API's JSON instead). */
import type { ChatFile, EventMessage, Health, LogLine, Sandbox, Usage } from '../client/index.js';

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** An ISO time without its milliseconds; `-` for none. */
export function shortTime(iso: string | null): string {
  return iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '-';
}

const endpointOf = (sandbox: Sandbox) =>
  sandbox.endpoint ? `${sandbox.endpoint.host}:${sandbox.endpoint.port}` : '-';

const statusOf = (sandbox: Sandbox) =>
  sandbox.stopReason ? `${sandbox.status} (${sandbox.stopReason})` : sandbox.status;

/** One sandbox, a field a line. */
export function sandboxSummary(sandbox: Sandbox): string {
  const metadata = Object.entries(sandbox.metadata).map(([key, value]) => `${key}=${value}`);
  const rows: [string, string][] = [
    ['chat', sandbox.chatId],
    ['status', statusOf(sandbox)],
    ['session', sandbox.sessionId],
    ['agent', sandbox.agentId],
    ['profile', sandbox.profile],
    ['owner', sandbox.ownerId ?? '-'],
    ['endpoint', endpointOf(sandbox)],
    ['created', shortTime(sandbox.createdAt)],
    ['last active', shortTime(sandbox.lastActiveAt)],
    ['expires', `${shortTime(sandbox.expiresAt)} (at most ${shortTime(sandbox.maxExpiresAt)})`],
    ...(sandbox.stoppedAt ? [['stopped', shortTime(sandbox.stoppedAt)] as [string, string]] : []),
    ...(metadata.length > 0 ? [['metadata', metadata.join(' ')] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

/** Sandboxes as a table, newest first as the API lists them. */
export function sandboxTable(sandboxes: readonly Sandbox[]): string {
  if (sandboxes.length === 0) return 'no sandboxes';
  return table(
    ['CHAT', 'STATUS', 'AGENT', 'PROFILE', 'OWNER', 'CREATED', 'EXPIRES'],
    sandboxes.map((sandbox) => [
      sandbox.chatId,
      statusOf(sandbox),
      sandbox.agentId,
      sandbox.profile,
      sandbox.ownerId ?? '-',
      shortTime(sandbox.createdAt),
      sandbox.status === 'provisioning' || sandbox.status === 'running' ? shortTime(sandbox.expiresAt) : '-',
    ]),
  );
}

export function usageSummary(usage: Usage): string {
  const lines = [`tenant: ${usage.tenant.live} live of ${usage.tenant.limit}`];
  if (usage.owner)
    lines.push(`owner ${usage.owner.ownerId}: ${usage.owner.live} live of ${usage.owner.limit}`);
  if (usage.storage) {
    const whose = usage.storage.scope === 'owner' ? 'owner' : 'unowned chats';
    lines.push(
      `storage (${whose}): ${usage.storage.usedBytes} of ${usage.storage.limitBytes} bytes in ${usage.storage.chats} chat(s), as last measured`,
    );
  }
  lines.push(`finished sessions ${usage.from} to ${usage.to}:`);
  if (usage.days.length === 0) lines.push('  none');
  else {
    const round = (value: number) => String(Math.round(value));
    lines.push(
      table(
        ['DATE', 'SESSIONS', 'SANDBOX-S', 'VCPU-S', 'GIB-S'],
        usage.days.map((day) => [
          day.date,
          String(day.sessions),
          round(day.sandboxSeconds),
          round(day.vcpuSeconds),
          round(day.gibSeconds),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

export function healthSummary(health: Health): string {
  const checks = Object.entries(health.checks ?? {}).map(([name, state]) => `  ${name}: ${state}`);
  return [`${health.status} (version ${health.version})`, ...checks].join('\n');
}

export function logLine(line: LogLine): string {
  return line.time ? `${shortTime(line.time)} ${line.message}` : line.message;
}

export function eventLine(message: EventMessage): string {
  const { detail } = message.data;
  const change = detail.previousStatus ? `${detail.previousStatus} -> ${detail.status}` : detail.status;
  const reason = detail.stopReason ? ` (${detail.stopReason})` : '';
  const expiry = detail.expiry ? ` expiry=${detail.expiry}` : '';
  return `${shortTime(message.data.time)}  ${message.id ?? '-'}  ${message.event}  chat=${detail.chatId}  ${change}${reason}${expiry}`;
}

/** A chat's files as a table, in path order as the API lists them; sizes in bytes. */
export function fileTable(files: readonly ChatFile[]): string {
  if (files.length === 0) return 'no files';
  return table(
    ['PATH', 'SIZE', 'MODIFIED'],
    files.map((file) => [file.path, String(file.size), shortTime(file.modifiedAt)]),
  );
}
