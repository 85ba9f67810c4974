/**
 * What a path in a chat's directory may be, as the storage routes accept it. A path is refused
 * rather than rewritten: only the canonical form of a relative path is accepted, so two spellings
 * never name one file and no spelling leaves the directory.
 */

export const CHAT_PATH_LIMITS = {
  /** UTF-8 bytes of the whole path. */
  maxBytes: 1024,
  /** Segments (directories and the file). */
  maxDepth: 16,
  /** UTF-8 bytes of one segment (the common file-system limit). */
  maxSegmentBytes: 255,
} as const;

/** The chat's history file, reserved for the history routes. */
export const HISTORY_FILE = 'history.md';

/** Names the storage implementation uses for its own temporary files; never a caller's. */
export const TEMPORARY_PREFIX = '.sandbox-tmp-';

// C0 controls and DEL: no file name needs them, and they break logs and terminals.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why `path` is refused, or null if it may be used. `history` allows `history.md` itself (the
 * history routes); every other route refuses it, in any letter case (case-insensitive file
 * systems would match it).
 */
export function chatPathViolation(path: string, options: { history?: boolean } = {}): string | null {
  if (path.length === 0) return 'must not be empty';
  if (Buffer.byteLength(path) > CHAT_PATH_LIMITS.maxBytes) {
    return `must be at most ${CHAT_PATH_LIMITS.maxBytes} bytes`;
  }
  if (path.includes('\0')) return 'must not contain NUL';
  if (CONTROL.test(path)) return 'must not contain control characters';
  if (path.includes('\\')) return 'must use / as the separator, not \\';
  if (path.startsWith('/')) return 'must be relative to the chat directory';
  const segments = path.split('/');
  if (segments.length > CHAT_PATH_LIMITS.maxDepth) {
    return `must be at most ${CHAT_PATH_LIMITS.maxDepth} levels deep`;
  }
  for (const segment of segments) {
    if (segment.length === 0) return 'must not have empty segments (//, or a / at the end)';
    if (segment === '.' || segment === '..') return 'must not have . or .. segments';
    if (Buffer.byteLength(segment) > CHAT_PATH_LIMITS.maxSegmentBytes) {
      return `each segment must be at most ${CHAT_PATH_LIMITS.maxSegmentBytes} bytes`;
    }
    if (segment.startsWith(TEMPORARY_PREFIX)) return `segments must not start with ${TEMPORARY_PREFIX}`;
  }
  // Upper case folds more spellings than lower case (the long s of `hiſtory.md` becomes S).
  const folded = path.toUpperCase() === HISTORY_FILE.toUpperCase() || path.toLowerCase() === HISTORY_FILE;
  if (segments.length === 1 && folded && !options.history) {
    return `${HISTORY_FILE} is the chat's history: use /v1/chats/{chatId}/history`;
  }
  return null;
}
