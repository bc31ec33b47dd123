import { Body, Controller, HttpCode, Post, Res, UseInterceptors } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiKeyAuth, CurrentPrincipal } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiGenerationErrors } from '../common/errors/api-errors.decorator.js';
import { Ctx, RequestContext } from '../common/http/request-context.js';
import { easelStreamOptions, sendEventStream } from '../common/http/sse.js';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor.js';
import { ChatService } from './chat.service.js';
import { ChatCompletionDto } from './dto/chat-completion.response.js';
import { CreateChatCompletionDto } from './dto/create-chat-completion.dto.js';

@ApiTags('chat')
@ApiKeyAuth()
@Controller('v1/chat')
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Post('completions')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and body within 24 h: the first result again, no second upstream call or charge (not with stream)',
  })
  @ApiOperation({
    summary: 'Chat with an image model: text and images in, text and images (message.images) out',
    description:
      'With `stream: true` the answer is `text/event-stream` of `chat.completion.chunk` objects (`delta.content`, `delta.images`), a usage chunk when `stream_options.include_usage`, then `data: [DONE]`.',
  })
  @ApiExtraModels(ChatCompletionDto)
  @ApiOkResponse({
    description: 'A chat.completion, or an event stream of chat.completion.chunk when stream is true',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatCompletionDto) } },
      'text/event-stream': {
        schema: { type: 'string', example: 'data: {"object":"chat.completion.chunk",…}\n\ndata: [DONE]\n\n' },
      },
    },
  })
  @ApiGenerationErrors(
    'Invalid field, unknown field, bad JSON, a bad image, an image URL that is refused or cannot be fetched',
  )
  async create(
    @Body() body: CreateChatCompletionDto,
    @CurrentPrincipal() principal: Principal,
    @Ctx() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletionDto | undefined> {
    if (!body.stream) return this.chat.complete(body, principal, context);
    await sendEventStream(
      reply,
      this.chat.stream(body, principal, context),
      easelStreamOptions(context, (data) => data),
    );
    return undefined;
  }
}
