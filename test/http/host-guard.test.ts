import { describe, expect, it } from 'vitest';
import { hostName, localHostGuard } from '../../src/local/host-guard.js';
import { httpHarness, problem } from './harness.js';

describe('local mode answers only its own host names', () => {
  it('answers 421 problem+json for a foreign Host, before authentication', async () => {
    const h = await httpHarness({ acceptsHost: localHostGuard('127.0.0.1') });
    const attempts: Record<string, string>[] = [
      { Host: 'attacker.example' },
      { Host: 'attacker.example:8123', Authorization: 'Bearer wrong' },
      { Host: '127.0.0.1.nip.io' },
    ];
    for (const headers of attempts) {
      const response = await h.app.request('/v1/sandboxes', { headers });
      expect(response.status).toBe(421);
      expect((await problem(response)).code).toBe('misdirected_request');
    }
    // The health route is behind the same check.
    const health = await h.app.request('/v1/health', { headers: { Host: 'attacker.example' } });
    expect(health.status).toBe(421);
  });

  it.each(['localhost', 'localhost:8123', '127.0.0.1:8123', '127.1.2.3', '[::1]:8123', 'LOCALHOST'])(
    'answers for %s',
    async (host) => {
      const h = await httpHarness({ acceptsHost: localHostGuard('127.0.0.1') });
      const response = await h.call('GET', '/v1/sandboxes', { headers: { Host: host } });
      expect(response.status).toBe(200);
    },
  );

  it('answers for the configured host and extra names, never for a wildcard address', () => {
    const guard = localHostGuard('192.168.1.20', ['devbox.lan']);
    expect(guard('192.168.1.20:8123')).toBe(true);
    expect(guard('devbox.lan')).toBe(true);
    expect(guard('other.lan')).toBe(false);
    const wildcard = localHostGuard('0.0.0.0');
    expect(wildcard('0.0.0.0')).toBe(false);
    expect(wildcard('evil.example')).toBe(false);
  });

  it('reads the name out of every Host form', () => {
    expect(hostName('Example.COM:80')).toBe('example.com');
    expect(hostName('[::1]:8123')).toBe('::1');
    expect(hostName('::1')).toBe('::1');
    expect(hostName('127.0.0.1')).toBe('127.0.0.1');
  });
});
