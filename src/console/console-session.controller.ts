import { Body, Controller, Delete, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import type { EaselRequest } from '../common/http/request-context.js';
import { CONSOLE_SESSION_TTL_SECONDS, CSRF_HEADER, SESSION_COOKIE } from './console-session.cookie.js';
import { ConsoleSessionService } from './console-session.service.js';
import { ConsoleSessionResponse, SignInDto } from './dto/console-session.dto.js';

const NOT_SIGNED_IN = { description: 'No session cookie, or its session or key has ended', type: ErrorResponseDto };

/**
 * The console's sign-in: a key exchanged for a session cookie (docs/CONSOLE.md). Public routes:
 * the key is in the body, the session in the cookie.
 */
@ApiTags('console')
@Public()
@Controller('console/api/session')
export class ConsoleSessionController {
  constructor(private readonly sessions: ConsoleSessionService) {}

  @Post()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Sign in to the console with a key (admin or team): sets the session cookie',
    description:
      `Sets \`${SESSION_COOKIE}\` (HttpOnly, SameSite=Strict, Path=/, Max-Age=${CONSOLE_SESSION_TTL_SECONDS}, Secure ` +
      'behind https). With it and no Authorization header, /admin and GET /v1/models and /v1/usage answer as the key ' +
      `would; a change also needs the \`${CSRF_HEADER}\` header with \`csrf_token\`. A wrong key counts as a failed ` +
      'authentication of the address (429 after too many).',
  })
  @ApiCreatedResponse({
    description: 'Signed in: the session, and its token in the cookie',
    type: ConsoleSessionResponse,
    headers: { 'set-cookie': { description: `${SESSION_COOKIE}=…; HttpOnly; SameSite=Strict; Path=/; Max-Age=…` } },
  })
  @ApiBadRequestResponse({ description: 'Not a JSON object with a string `key`', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'Unknown, revoked or expired key', type: ErrorResponseDto })
  @ApiUnsupportedMediaTypeResponse({ description: 'A body that is not JSON', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({
    description: 'Too many failed authentications from this address',
    type: ErrorResponseDto,
  })
  async signIn(
    @Body() body: SignInDto,
    @Req() request: EaselRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConsoleSessionResponse> {
    const { session, cookie } = await this.sessions.signIn(body.key, request.ip);
    void reply.header('set-cookie', cookie);
    return session;
  }

  @Get()
  @Header('cache-control', 'no-store')
  @ApiEndpoint("The console session of the request's cookie (its role, team and CSRF token)", {
    ok: ConsoleSessionResponse,
  })
  @ApiUnauthorizedResponse(NOT_SIGNED_IN)
  current(@Req() request: EaselRequest): Promise<ConsoleSessionResponse> {
    return this.sessions.current(request);
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: ends the session at once and clears its cookie' })
  @ApiHeader({ name: CSRF_HEADER, required: true, description: "The session's csrf_token" })
  @ApiNoContentResponse({ description: 'Signed out; `Set-Cookie` clears the cookie' })
  @ApiUnauthorizedResponse(NOT_SIGNED_IN)
  @ApiForbiddenResponse({ description: `Missing or wrong ${CSRF_HEADER}`, type: ErrorResponseDto })
  async signOut(@Req() request: EaselRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    void reply.header('set-cookie', await this.sessions.signOut(request));
  }
}
