import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { existingRequestContext } from './common/http/request-context.js';
import { SplicedJsonStream, stringifyJson } from './common/json/raw-json.js';
import { AppConfig } from './config/app.config.js';

/** Headers every response carries: an API has nothing to frame, sniff or refer. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-site',
};

/** Room for a 32000-character prompt and, later, image inputs as data URLs. */
const BODY_LIMIT_BYTES = 50 * 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The Fastify adapter Easel runs on; `main.ts` and the e2e tests build it the same way. */
export function createFastifyAdapter(): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID().replaceAll('-', '')}`;
    },
    return503OnClosing: true,
    // On close: refuse new requests (503), let those in flight finish, drop idle keep-alive sockets.
    forceCloseConnections: 'idle',
  });
  // JSON replies with upstream base64 spliced in as the bytes it arrived in (RawJsonString); such
  // a reply is a stream of its pieces, whose length the onSend hook below declares. (Fastify
  // sends a stream that a serializer returns; its types say string.)
  adapter.getInstance().setReplySerializer((payload) => {
    const json = stringifyJson(payload);
    return (typeof json === 'string' ? json : json.toStream()) as string;
  });
  return adapter;
}

/** Everything beyond the module graph that makes the HTTP surface what SPEC §3-§4 says. */
export function configureApp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    void reply.headers({ 'x-easel-cost-usd': existingRequestContext(request)?.costUsd ?? '0', ...SECURITY_HEADERS });
    if (payload instanceof SplicedJsonStream) void reply.header('content-length', String(payload.byteLength));
  });
  // CORS is off unless CORS_ORIGINS names the browser origins allowed to call Easel.
  const { corsOrigins } = app.get(AppConfig).http;
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'x-easel-cost-usd', 'retry-after', 'idempotent-replayed'],
      maxAge: 600,
    });
  }
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.enableShutdownHooks();
  setupSwagger(app);
}

function setupSwagger(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Easel')
      .setDescription(
        'OpenAI-compatible image generation gateway. Call `/v1` with `Authorization: Bearer sk-easel-…` ' +
          '(an API key from `POST /admin/keys`); `/admin` needs an admin key. Errors always have ' +
          "OpenAI's shape `{ error: { message, type, param, code } }`.",
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An Easel key: sk-easel-…' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
