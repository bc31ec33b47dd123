import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; security?: unknown[]; requestBody?: RequestBody }>
  >;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string; bearerFormat?: string }>;
    schemas: Record<string, Schema>;
  };
}

interface RequestBody {
  content: Record<string, { schema?: Schema; example?: unknown; examples?: Record<string, { value: unknown }> }>;
}

interface Schema {
  $ref?: string;
  type?: string;
  example?: unknown;
  default?: unknown;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  deprecated?: boolean;
  readOnly?: boolean;
}

/**
 * The body Swagger UI pre-fills for a schema ("Try it out"), by its rules (json-schema-5-samples):
 * an example wins, then a default; an object gets every property that is not deprecated or
 * read-only; an array one item; an enum its first value; a number its maximum, else its minimum.
 */
function swaggerUiSample(schema: Schema, document: OpenApiDocument): unknown {
  if (schema.$ref) return swaggerUiSample(document.components.schemas[schema.$ref.split('/').pop()!]!, document);
  if (schema.allOf)
    return swaggerUiSample(
      Object.assign({}, ...schema.allOf.map((part) => resolved(part, document)), { ...schema, allOf: undefined }),
      document,
    );
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  const alternative = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (alternative) return swaggerUiSample(alternative, document);
  if (schema.type === 'object' || schema.properties) {
    return Object.fromEntries(
      Object.entries(schema.properties ?? {})
        .filter(([, property]) => !property.deprecated && !property.readOnly)
        .map(([name, property]) => [name, swaggerUiSample(property, document)]),
    );
  }
  if (schema.type === 'array') return schema.items ? [swaggerUiSample(schema.items, document)] : [];
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'number' || schema.type === 'integer') return schema.maximum ?? schema.minimum ?? 0;
  if (schema.type === 'boolean') return true;
  return 'string';
}

function resolved(schema: Schema, document: OpenApiDocument): Schema {
  return schema.$ref ? resolved(document.components.schemas[schema.$ref.split('/').pop()!]!, document) : schema;
}

/** Every request body the docs offer for an operation: the schema's sample and any named examples. */
function requestBodyExamples(body: RequestBody | undefined, document: OpenApiDocument): Array<[string, unknown]> {
  const json = body?.content['application/json'];
  if (!json) return [];
  return [
    ...(json.schema ? [['the schema sample', swaggerUiSample(json.schema, document)] as [string, unknown]] : []),
    ...(json.example === undefined ? [] : [['the example', json.example] as [string, unknown]]),
    ...Object.entries(json.examples ?? {}).map(([name, example]) => [name, example.value] as [string, unknown]),
  ];
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
        '/admin/models',
        '/admin/pricing',
        '/admin/pricing/{model}',
        '/admin/teams',
        '/admin/usage',
        '/admin/usage/records',
        '/admin/usage/records/{request_id}/thumbnails/{index}',
        '/health/live',
        '/metrics',
        '/v1/chat/completions',
        '/health/ready',
        '/v1/images/files/{file}',
        '/v1/images/generations',
        '/v1/images/edits',
        '/v1/models',
        '/v1/models/{id}',
        '/v1/usage',
        '/v1/usage/records',
        '/v1/usage/records/{request_id}/thumbnails/{index}',
        '/console/api/session',
      ].sort(),
    );
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components.securitySchemes.bearer!.bearerFormat).not.toMatch(/JWT/);
    const generate = document.paths['/v1/images/generations']!.post!;
    expect(Object.keys(generate.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '502', '503', '504']),
    );
    expect(generate.security).toEqual([{ bearer: [] }]);
    expect(document.components.schemas).toHaveProperty('CreateImageDto');
    expect(document.components.schemas).toHaveProperty('ImagesResponseDto');
    expect(document.components.schemas).toHaveProperty('ErrorResponseDto');
    // Admin routes take a bearer key or a console session cookie (either); generations only the key.
    expect(document.paths['/admin/keys']!.post!.security).toEqual([{ bearer: [] }, { console: [] }]);
    expect(document.components.securitySchemes.console).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'easel_session',
    });
    // Edits take a multipart form (files as binary parts) or JSON, each with its own schema.
    const edit = document.paths['/v1/images/edits']!.post!;
    expect(edit.requestBody!.content).toEqual({
      'multipart/form-data': { schema: { $ref: '#/components/schemas/CreateImageEditFormDto' } },
      'application/json': { schema: { $ref: '#/components/schemas/CreateImageEditJsonDto' } },
    });
    expect(Object.keys(edit.responses)).toEqual(expect.arrayContaining(['200', '400', '413', '502']));
    expect(document.components.schemas.CreateImageEditFormDto).toMatchObject({
      properties: {
        image: { type: 'array', items: { type: 'string', format: 'binary' } },
        mask: { type: 'string', format: 'binary' },
        input_fidelity: { enum: ['high', 'low'] },
      },
    });
  });

  it('serves Prometheus metrics without a key, counting requests by endpoint, model and status', async () => {
    const { key } = await createApiKey(sut);
    await sut.http('/v1/images/generations', { key, body: imageRequest({ prompt: 'metrics' }) });
    await sut.http('/v1/images/generations', { key, body: { model: 'local/easel/sketch', prompt: '' } });

    const metrics = await waitFor(
      async () => (await sut.http('/metrics')).text(),
      (text) => text.includes('status="400"'),
    );
    expect(metrics).toMatch(
      /easel_requests_total\{endpoint="images",model="local\/easel\/sketch",provider="local",status="200"\} 1/,
    );
    expect(metrics).toMatch(
      /easel_requests_total\{endpoint="images",model="local\/easel\/sketch",provider="\(none\)",status="400"\} 1/,
    );
    expect(metrics).toMatch(/easel_images_total\{model="local\/easel\/sketch",provider="local"\} 1/);
    expect(metrics).toContain('easel_request_duration_seconds_bucket');
    expect(metrics).toMatch(/easel_usage_queue_depth \d+/);
    expect(metrics).toMatch(/easel_usage_spool_bytes \d+/);
    expect(metrics).toContain('easel_process_nodejs_eventloop_lag_p99_seconds');
  });

  it('reports liveness and database readiness without a key', async () => {
    expect(await (await sut.http('/health/live')).json()).toEqual({ status: 'ok' });
    expect(await (await sut.http('/health/ready')).json()).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' } },
    });
  });
});

describe('Swagger request-body examples', () => {
  let sut: TestApp;

  beforeAll(async () => {
    // A fresh install: no Azure or Vertex settings, so the local model is the only one available.
    sut = await createTestApp();
  });

  afterAll(async () => {
    await sut.close();
  });

  it('offers request-body examples for the /v1 routes that work when tried on a fresh install (only the local model)', async () => {
    const document = (await (await sut.http('/docs-json')).json()) as OpenApiDocument;
    const { key } = await createApiKey(sut);
    const tried: Array<{ route: string; example: string; sent: unknown; status: number; answer: string }> = [];

    for (const route of ['/v1/images/generations', '/v1/images/edits', '/v1/chat/completions']) {
      const examples = requestBodyExamples(document.paths[route]!.post!.requestBody, document);
      expect(examples.length).toBeGreaterThan(0);
      for (const [example, body] of examples) {
        const response = await sut.http(route, { key, body });
        const text = await response.text();
        // A stream that failed after it began still answered 200: its error event counts as a failure.
        const failed = response.status !== 200 || /^(event: error$|data: \{"error")/m.test(text);
        tried.push({ route, example, sent: body, status: response.status, answer: failed ? text.slice(0, 2000) : '' });
      }
    }

    expect(tried).toEqual(tried.map((attempt) => ({ ...attempt, status: 200, answer: '' })));
  });
});
