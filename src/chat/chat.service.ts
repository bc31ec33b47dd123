import { Injectable } from '@nestjs/common';
import { assertMayUseModel } from '../auth/model-access.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { ServerSentEvent } from '../common/http/sse.js';
import { concatJsonText, stringifyJson } from '../common/json/raw-json.js';
import { formatUsd, type Pico } from '../common/money/usd.js';
import type { ChatChoice, ChatProvider, ChatRequest, InlineImage } from '../providers/chat-provider.interface.js';
import { ModelLifecycleGate } from '../providers/model-lifecycle.gate.js';
import { ProviderRegistry, type RegisteredModel } from '../providers/provider-registry.service.js';
import { UpstreamExecutor } from '../providers/upstream-executor.js';
import { RemoteImageFetcher } from '../remote-images/remote-image.fetcher.js';
import { type MeteredRequest, RequestMeter } from '../usage/request-meter.js';
import { ThumbnailRecorder } from '../usage/thumbnails/thumbnail.recorder.js';
import { inlineSources } from '../usage/thumbnails/thumbnail.source.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import {
  MAX_INPUT_IMAGE_BYTES,
  promptText,
  remoteImagesOf,
  toChatDraft,
  withFetchedImages,
} from './chat-request.mapper.js';
import type { ChatCompletionDto, ChatImageDto, ChatUsageDto } from './dto/chat-completion.response.js';
import type { CreateChatCompletionDto } from './dto/create-chat-completion.dto.js';

interface PreparedChat {
  model: RegisteredModel<ChatProvider>;
  request: ChatRequest;
  metered: MeteredRequest;
  id: string;
  created: number;
}

@Injectable()
export class ChatService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly meter: RequestMeter,
    private readonly upstream: UpstreamExecutor,
    private readonly remoteImages: RemoteImageFetcher,
    private readonly lifecycle: ModelLifecycleGate,
    private readonly thumbnails: ThumbnailRecorder,
  ) {}

  async complete(dto: CreateChatCompletionDto, context: RequestContext): Promise<ChatCompletionDto> {
    const chat = await this.prepare(dto, context);
    const result = await this.upstream.run(chat.model, context, (route) =>
      chat.model.provider.chat(route.target, chat.request, context.signal),
    );
    const usage = toUsageDto(result.usage, chat.metered.charge(result.usage));
    // The console's previews (CONSOLE_THUMBNAILS): the images of every choice, in order.
    this.thumbnails.capture(context, inlineSources(result.choices.flatMap((choice) => choice.images)));
    return {
      id: chat.id,
      object: 'chat.completion',
      created: chat.created,
      model: chat.model.definition.id,
      choices: result.choices.map(toChoiceDto),
      usage,
    };
  }

  /**
   * The response as `chat.completion.chunk` events (already JSON, with upstream image base64 as the
   * bytes it came in), then `[DONE]`. Everything that can be refused is checked before the first
   * event, so such errors are ordinary JSON responses.
   */
  async *stream(dto: CreateChatCompletionDto, context: RequestContext): AsyncGenerator<ServerSentEvent> {
    const includeUsage = dto.stream_options?.include_usage === true;
    const chat = await this.prepare(dto, context);
    const chunk = (choices: object[], extra: object = {}) =>
      stringifyJson({
        id: chat.id,
        object: 'chat.completion.chunk',
        created: chat.created,
        model: chat.model.definition.id,
        choices,
        ...extra,
      });
    const opened = new Set<number>();
    const imageCounts = new Map<number, number>();
    /** The images the stream sent, by choice, for the console's previews (only when they are on). */
    const images: Array<{ choice: number; image: InlineImage }> = [];
    const open = (index: number) => {
      if (opened.has(index)) return {};
      opened.add(index);
      return { role: 'assistant' };
    };
    const events = this.upstream.stream(chat.model, context, (route) =>
      chat.model.provider.chatStream(route.target, chat.request, context.signal),
    );
    for await (const event of events) {
      switch (event.type) {
        case 'text':
          yield chunk([
            {
              index: event.index,
              delta: { ...open(event.index), content: event.text },
              finish_reason: null,
              logprobs: null,
            },
          ]);
          break;
        case 'image': {
          const imageIndex = imageCounts.get(event.index) ?? 0;
          imageCounts.set(event.index, imageIndex + 1);
          if (this.thumbnails.enabled) images.push({ choice: event.index, image: event.image });
          yield chunk([
            {
              index: event.index,
              delta: { ...open(event.index), images: [toImageDto(event.image, imageIndex)] },
              finish_reason: null,
              logprobs: null,
            },
          ]);
          break;
        }
        case 'finish':
          yield chunk([
            { index: event.index, delta: open(event.index), finish_reason: event.finishReason, logprobs: null },
          ]);
          break;
        case 'usage': {
          const usage = toUsageDto(event.usage, chat.metered.charge(event.usage));
          if (includeUsage) yield chunk([], { usage });
          break;
        }
      }
    }
    // The stream ended well: the console's previews (CONSOLE_THUMBNAILS), choice by choice as `complete` numbers them.
    images.sort((a, b) => a.choice - b.choice);
    this.thumbnails.capture(context, inlineSources(images.map(({ image }) => image)));
    yield '[DONE]';
  }

  /**
   * Everything that can refuse the request, before any upstream work: model, access, input, route,
   * then the remote images (the first network work, so only for requests that passed the cheap
   * checks), then the budget (reserved only for a request that is ready to send).
   */
  private async prepare(dto: CreateChatCompletionDto, context: RequestContext): Promise<PreparedChat> {
    Object.assign(context.usage, { model: dto.model, user: dto.user });
    const requested = this.registry.chatModel(dto.model);
    assertMayUseModel(context.principal, dto.model);
    const model = this.lifecycle.serve(requested, context, (id) => this.registry.chatModel(id));
    const draft = toChatDraft(dto, model.definition.id, model.definition.capabilities, {
      remoteImages: this.remoteImages.enabled,
      candidatesPerCall: model.definition.candidatesPerCall,
    });
    const prompt = promptText(draft);
    context.usage.prompt = prompt;
    this.registry.assertAvailable(model);
    this.meter.recordProvider(context, model);
    const fetched = await this.remoteImages.fetchAll(remoteImagesOf(draft), MAX_INPUT_IMAGE_BYTES, context.signal);
    const request = withFetchedImages(
      draft,
      fetched.map(({ mimeType, bytes }) => ({ mimeType, base64: bytes.toString('base64') })),
    );
    const metered = await this.meter.reserve(context.principal, context, model, {
      prompt,
      n: request.modalities.includes('image') ? request.n : 0,
      size: 'auto',
      imageSize: request.imageSize,
    });
    return { model, request, metered, id: `chatcmpl-${context.requestId}`, created: Math.floor(Date.now() / 1000) };
  }
}

/** OpenAI's usage object for the measure the request was charged, with its cost. */
function toUsageDto(measure: UsageMeasure, cost: Pico): ChatUsageDto {
  const prompt = measure.inputTextTokens + measure.inputImageTokens;
  const completion = measure.outputTextTokens + measure.outputImageTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: measure.cachedInputTokens, image_tokens: measure.inputImageTokens },
    completion_tokens_details: { image_tokens: measure.outputImageTokens, reasoning_tokens: 0 },
    cost_usd: formatUsd(cost),
  };
}

function toImageDto(image: InlineImage, index: number): ChatImageDto {
  return {
    type: 'image_url',
    image_url: { url: concatJsonText(`data:${image.mimeType};base64,`, image.base64) },
    index,
  };
}

function toChoiceDto(choice: ChatChoice): ChatCompletionDto['choices'][number] {
  return {
    index: choice.index,
    message: {
      role: 'assistant',
      content: choice.text,
      ...(choice.images.length > 0 ? { images: choice.images.map(toImageDto) } : {}),
      refusal: null,
    },
    finish_reason: choice.finishReason,
    logprobs: null,
  };
}
