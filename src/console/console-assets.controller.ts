import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { type ConsoleAsset, ConsoleAssets } from './console-assets.js';

/**
 * The console page: self-contained (no other origin), so the policy allows only Easel itself;
 * `img-src data:` for the chart library's and the key dialog's inline images.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the console (`dist/console`, built from `web/` by `npm run build`) at `/console`: every
 * path but `assets/*` and `api/*` is the app's page (it routes in the browser), revalidated on
 * each load (`no-cache` + ETag); the hashed assets are cached for a year. Public: the page signs
 * in with the APIs of `/console/api/session`.
 */
@ApiExcludeController()
@Public()
@Controller('console')
export class ConsoleAssetsController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  page(
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Buffer {
    const index = this.assets.index;
    if (!index) {
      throw new GatewayError(
        ErrorCode.NotReady,
        'The console is not built on this server: run `npm run build` (`npm start` builds it), then restart Easel.',
      );
    }
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return send(reply, index, acceptEncoding, ifNoneMatch);
  }

  @Get('assets/:name')
  asset(
    @Param('name') name: string,
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Buffer {
    const asset = this.assets.asset(name);
    if (!asset) throw new GatewayError(ErrorCode.RouteNotFound, `No console asset '${name.slice(0, 100)}'.`);
    return send(reply, asset, acceptEncoding, ifNoneMatch);
  }

  /** The app's own routes (`/console/keys`, …): the same page. Unknown API paths stay 404. */
  @Get('*')
  route(
    @Param('*') path: string,
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Buffer {
    if (path === 'api' || path.startsWith('api/') || path.startsWith('assets/')) {
      throw new GatewayError(ErrorCode.RouteNotFound, `Unknown path /console/${path.slice(0, 100)}.`);
    }
    return this.page(acceptEncoding, ifNoneMatch, reply);
  }
}

function send(
  reply: FastifyReply,
  asset: ConsoleAsset,
  acceptEncoding: string | undefined,
  ifNoneMatch: string | undefined,
): Buffer {
  const encoding = ConsoleAssets.encodingFor(asset, acceptEncoding);
  void reply.headers({
    'content-type': asset.contentType,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag: asset.etag,
    vary: 'accept-encoding',
  });
  if (ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    void reply.status(304);
    return Buffer.alloc(0);
  }
  if (encoding !== 'identity') void reply.header('content-encoding', encoding);
  return asset.bodies[encoding] ?? asset.bodies.identity;
}
