/** Local mode's tenant directory names: no tenant id can name another's folder or leave chats/. */
import { describe, expect, it } from 'vitest';
import { localChatDir, tenantDirName } from '../../src/adapters/local/local-runtime.js';

describe('tenant directories', () => {
  it('keeps plain lowercase names and hashes everything else', () => {
    expect(tenantDirName('local')).toBe('local');
    expect(tenantDirName('tenant-b')).toBe('tenant-b');
    for (const tenant of ['.', '..', 'Acme', 'a.b', 't-0123', 'arn:aws:iam::123456789012:role/agents']) {
      expect(tenantDirName(tenant)).toMatch(/^t-[0-9a-f]{40}$/);
    }
    // Letter case never folds two tenants into one folder.
    expect(tenantDirName('Acme')).not.toBe(tenantDirName('acme'));
    expect(localChatDir('/data', { tenant: '..', chatId: 'c' }).startsWith('/data/chats/t-')).toBe(true);
    expect(tenantDirName(`arn:aws:iam::123456789012:role/${'r'.repeat(300)}`)).toHaveLength(42);
  });
});
