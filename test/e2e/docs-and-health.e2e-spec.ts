import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: Record<string, unknown> };
}

describe('Swagger docs and health', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });

  afterAll(async () => {
    await sut.close();
  });

  it('serves Swagger UI at /docs without a key', async () => {
    const response = await sut.http('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toContain('swagger');
  });

  it('documents every route with schemas, errors and the bearer scheme at /docs-json', async () => {
    const document = (await (await sut.http('/docs-json')).json()) as OpenApiDocument;

    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/admin/keys',
        '/admin/keys/{id}',
        '/admin/pricing',
        '/admin/pricing/{model}',
        '/admin/teams',
        '/admin/usage',
        '/admin/usage/records',
        '/health/live',
        '/metrics',
        '/v1/chat/completions',
        '/health/ready',
        '/v1/images/files/{file}',
        '/v1/images/generations',
        '/v1/models',
        '/v1/models/{id}',
      ].sort(),
    );
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const generate = document.paths['/v1/images/generations']!.post!;
    expect(Object.keys(generate.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '502', '503', '504']));
    expect(generate.security).toEqual([{ bearer: [] }]);
    expect(document.components.schemas).toHaveProperty('CreateImageDto');
    expect(document.components.schemas).toHaveProperty('ImagesResponseDto');
    expect(document.components.schemas).toHaveProperty('ErrorResponseDto');
    expect(document.paths['/admin/keys']!.post!.security).toEqual([{ bearer: [] }]);
  });

  it('serves Prometheus metrics without a key, counting requests by endpoint, model and status', async () => {
    const { key } = await sut.createKey();
    await sut.http('/v1/images/generations', { key, body: { model: 'local/easel/sketch', prompt: 'metrics', size: '256x256', response_format: 'b64_json' } });
    await sut.http('/v1/images/generations', { key, body: { model: 'local/easel/sketch', prompt: '' } });

    const metrics = await waitFor(
      async () => (await sut.http('/metrics')).text(),
      (text) => text.includes('status="400"'),
    );
    expect(metrics).toMatch(/easel_requests_total\{endpoint="images",model="local\/easel\/sketch",provider="local",status="200"\} 1/);
    expect(metrics).toMatch(/easel_requests_total\{endpoint="images",model="local\/easel\/sketch",provider="\(none\)",status="400"\} 1/);
    expect(metrics).toMatch(/easel_images_total\{model="local\/easel\/sketch",provider="local"\} 1/);
    expect(metrics).toContain('easel_request_duration_seconds_bucket');
    expect(metrics).toMatch(/easel_usage_queue_depth \d+/);
    expect(metrics).toMatch(/easel_usage_spool_bytes \d+/);
    expect(metrics).toContain('easel_process_nodejs_eventloop_lag_p99_seconds');
  });

  it('reports liveness and database readiness without a key', async () => {
    expect(await (await sut.http('/health/live')).json()).toEqual({ status: 'ok' });
    expect(await (await sut.http('/health/ready')).json()).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});
