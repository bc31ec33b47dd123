import { Body } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';
import { V1Controller } from '../auth/auth.decorators.js';
import { GenerationRoute } from '../common/http/generation-route.decorator.js';
import { Ctx, RequestContext } from '../common/http/request-context.js';
import { jsonOrEventStream } from '../common/http/sse.js';
import { IdempotencyGate } from '../idempotency/idempotency.gate.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { ChatService } from './chat.service.js';
import { ChatCompletionDto } from './dto/chat-completion.response.js';
import { CreateChatCompletionDto } from './dto/create-chat-completion.dto.js';

@V1Controller('chat')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly idempotency: IdempotencyGate,
  ) {}

  @GenerationRoute('completions', {
    summary: 'Chat with an image model: text and images in, text and images (message.images) out',
    description:
      'With `stream: true` the answer is `text/event-stream` of `chat.completion.chunk` objects (`delta.content`, `delta.images`), a usage chunk when `stream_options.include_usage`, then `data: [DONE]`.',
    badRequest:
      'Invalid field, unknown field, bad JSON, a bad image, an image URL that is refused or cannot be fetched',
  })
  @Idempotent()
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
  async create(
    @Body() body: CreateChatCompletionDto,
    @Ctx() context: RequestContext,
  ): Promise<ChatCompletionDto | undefined> {
    return this.idempotency.run(context, () =>
      jsonOrEventStream(body.stream, context, {
        json: () => this.chat.complete(body, context),
        events: () => this.chat.stream(body, context),
        // OpenAI's chat stream tells a late failure as a bare `data:` line.
        errorEvent: (data) => data,
      }),
    );
  }
}
