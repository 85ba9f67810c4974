import { describe, expect, it } from 'vitest';
import { STORAGE_ROUTES } from '../../src/http/routes/storage-routes.js';
import { STORAGE_ROUTE_KEYS } from '../../src/names.js';
import { httpHarness, json } from './harness.js';

describe('health and OpenAPI', () => {
  it('answers health without auth, with the version', async () => {
    const { app } = await httpHarness();
    const response = await app.request('/v1/health');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: 'ok', version: '9.9.9' });
  });

  it('checks the store on a deep health check and answers 503 degraded when it is unreachable', async () => {
    const { app, deps } = await httpHarness();
    expect(await json(await app.request('/v1/health?deep=true'))).toMatchObject({
      status: 'ok',
      checks: { store: 'ok' },
    });
    deps.store.ping = async () => {
      throw new Error('unreachable');
    };
    const degraded = await app.request('/v1/health?deep=true');
    expect(degraded.status).toBe(503);
    expect(await json(degraded)).toMatchObject({ status: 'degraded', checks: { store: 'unreachable' } });
  });

  it('serves an OpenAPI 3.1 document of every route, behind auth', async () => {
    const { app, call } = await httpHarness();
    expect((await app.request('/v1/openapi.json')).status).toBe(401);
    const doc = await json(await call('GET', '/v1/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/create',
      '/api/v1/health',
      '/api/v1/sandboxes/{chat_id}',
      '/v1/chats/{chatId}/sandbox',
      '/v1/chats/{chatId}/sandbox/keepalive',
      '/v1/health',
      '/v1/openapi.json',
      '/v1/sandboxes',
      '/v1/usage',
    ]);
    expect(Object.keys(doc.paths['/v1/chats/{chatId}/sandbox']).sort()).toEqual(['delete', 'get', 'put']);
    expect(doc.components.schemas.GetOrCreateRequest.required).toEqual(['agentId']);
    expect(doc.components.schemas.GetOrCreateRequest.additionalProperties).toBe(false);
  });
});

describe('the storage route keys', () => {
  it('name exactly the storage routes, which API Gateway sends to the storage function', () => {
    const routes = STORAGE_ROUTES.map(({ method, path }) => ({ method, path }));
    expect(routes).toEqual([...STORAGE_ROUTE_KEYS]);
  });
});
