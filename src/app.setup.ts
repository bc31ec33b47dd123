import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, getSchemaPath, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { answerClientError, answerFrameworkError, requestIdOf } from './common/http/client-errors.js';
import { assertJsonShape, isBlank } from './common/http/json-body.js';
import { BODY_LIMITS, IMAGE_EDITS_PATH } from './common/http/route-policy.js';
import { stringifyJson } from './common/json/raw-json.js';
import { AppConfig } from './config/app.config.js';
import { RequestLifecycle } from './http/request-lifecycle.js';
import { CreateImageEditFormDto, CreateImageEditJsonDto } from './images/dto/create-image-edit.dto.js';

/** Headers are small: a client still sending them after this long is cut (408), whatever REQUEST_TIMEOUT_MS says. */
const HEADERS_TIMEOUT_MS = 10_000;
/** How often Node looks for requests past their timeout (its default, 30 s, would let them run that much longer). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/**
 * An idle keep-alive connection is closed after this long: longer than the 60 s idle timeout of
 * the usual load balancers in front, so that they, not Easel, close it (Fastify's default).
 */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** The signals that stop Easel gracefully: a supervisor's stop, Ctrl-C, the terminal closing. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
/** Methods whose empty JSON body means "no body" (a DELETE sent with Content-Type: application/json). */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** The Fastify adapter Easel runs on; `main.ts` and the e2e tests build it the same way. */
export function createFastifyAdapter(): FastifyAdapter {
  const adapter = new FastifyAdapter({
    // Routes have their own limits (see route-policy.ts); this one covers requests no route matched.
    bodyLimit: BODY_LIMITS.default,
    requestIdHeader: false,
    // No Nest middleware (the edge is Fastify hooks, see RequestLifecycle): no middie on every request.
    skipMiddie: true,
    genReqId: (request: IncomingMessage) => requestIdOf(request),
    // A path parameter may be a whole request id (128 characters: the usage records' thumbnail
    // routes); Fastify's default, 100, would leave a longer one unrouted (404).
    routerOptions: { maxParamLength: 128 },
    return503OnClosing: true,
    // On close: refuse new requests (503) and close every connection left. Requests in flight have
    // finished by then (HttpDrain waits for them first), so what is left is idle or half-closed; a
    // connection that was busy when only idle ones were closed held the close for the keep-alive
    // timeout (72 s).
    forceCloseConnections: true,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Malformed HTTP (Node's parser, the router) answered in OpenAI's shape with a request id.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  // JSON replies with upstream base64 spliced in as the bytes it arrived in (RawJsonString); such
  // a reply is a stream of its pieces, whose length RequestLifecycle's onSend hook declares. (Fastify
  // sends a stream that a serializer returns; its types say string.)
  adapter.getInstance().setReplySerializer((payload) => {
    const json = stringifyJson(payload);
    return (typeof json === 'string' ? json : json.toStream()) as string;
  });
  return adapter;
}

/** Everything beyond the module graph that makes the HTTP surface what SPEC §3-§4 says. */
export function configureApp(app: NestFastifyApplication): void {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const config = app.get(AppConfig);
  // Every Fastify hook, in its stated order; before any route is registered (per-route body limits).
  app.get(RequestLifecycle).register(fastify);
  useJsonBodies(app, fastify);
  // Image edits' forms are read as they stream in, with their own limits (MultipartFormReader).
  fastify.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null, undefined));
  applyTimeouts(fastify, config.http.requestTimeoutMs);
  // CORS is off unless CORS_ORIGINS names the browser origins allowed to call Easel.
  const { corsOrigins } = config.http;
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: [
        'x-request-id',
        'x-easel-cost-usd',
        'retry-after',
        'idempotent-replayed',
        'deprecation',
        'sunset',
        'link',
        'x-easel-served-model',
      ],
      maxAge: 600,
    });
  }
  app.useLogger(app.get(Logger));
  app.flushLogs();
  // A stop signal drains, flushes, closes and stops the embedded PostgreSQL, then exits 0 (a second
  // signal meanwhile is ignored). process.exit, not the signal raised again: the 'exit' hooks run
  // (pino writes its buffered lines). Other signals keep Node's default (SIGQUIT: stop at once).
  app.enableShutdownHooks([...STOP_SIGNALS], { useProcessExit: true });
  setupSwagger(app);
}

/**
 * `application/json` bodies: an empty one on a DELETE or GET is no body; any other is scanned
 * before `JSON.parse` (nesting and size of structure, see json-body.ts), then parsed by Fastify's
 * own parser (which refuses `__proto__` and `constructor.prototype` keys).
 */
function useJsonBodies(app: NestFastifyApplication, fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMITS.default }, (request, body: Buffer, done) => {
    if (BODYLESS_METHODS.has(request.method) && isBlank(body)) return done(null, undefined);
    try {
      assertJsonShape(body);
    } catch (error) {
      return done(error as Error, undefined);
    }
    // Fastify's own parser answers through `done` (its type also allows a promise-returning parser).
    void parse(request as FastifyRequest, body as unknown as string, done);
  });
}

/**
 * A request (headers and body) must arrive within REQUEST_TIMEOUT_MS, its headers within 10 s,
 * checked every second; a slow client is answered 408 and its connection closed. Once a request
 * is in, its response may take as long as the upstream does (no socket idle timeout: a high-quality
 * image can take minutes without a byte on the wire).
 */
function applyTimeouts(fastify: FastifyInstance, requestTimeoutMs: number): void {
  const server = fastify.server as FastifyInstance['server'] & { connectionsCheckingInterval: number };
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs);
  server.connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;
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
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key (sk-easel-…)',
        description: 'An Easel key: sk-easel-…',
      })
      .addCookieAuth(
        'easel_session',
        {
          type: 'apiKey',
          in: 'cookie',
          description: 'A console session (POST /console/api/session); changes also need x-csrf-token',
        },
        'console',
      )
      .build(),
  );
  documentImageEditBodies(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/** Image edits take two bodies, each with its own schema (a decorator can give only one for all media types). */
function documentImageEditBodies(document: OpenAPIObject): void {
  const operation = document.paths[IMAGE_EDITS_PATH]?.post;
  if (!operation) throw new Error(`No POST ${IMAGE_EDITS_PATH} in the API document`);
  operation.requestBody = {
    required: true,
    content: {
      'multipart/form-data': { schema: { $ref: getSchemaPath(CreateImageEditFormDto) } },
      'application/json': { schema: { $ref: getSchemaPath(CreateImageEditJsonDto) } },
    },
  };
}
