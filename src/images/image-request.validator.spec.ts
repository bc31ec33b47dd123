import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { loadModelCatalogue } from '../config/models.catalogue.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import { ImageRequestValidator } from './image-request.validator.js';

const CATALOGUE = fileURLToPath(new URL('../../config/models.yaml', import.meta.url));
const MODEL_ID = 'azure/openai/gpt-image-1';
const CAPABILITIES = loadModelCatalogue(CATALOGUE).find((model) => model.id === MODEL_ID)!.capabilities;

function dto(overrides: Partial<CreateImageDto> = {}): CreateImageDto {
  return { model: MODEL_ID, prompt: 'a watercolour otter', ...overrides } as CreateImageDto;
}

describe(ImageRequestValidator.name, () => {
  let sut: ImageRequestValidator;

  beforeEach(() => {
    sut = new ImageRequestValidator();
  });

  function rejectionOf(request: CreateImageDto, capabilities = CAPABILITIES): GatewayError {
    try {
      sut.validate(request, MODEL_ID, capabilities);
    } catch (error) {
      if (error instanceof GatewayError) return error;
      throw error;
    }
    throw new Error('the request was accepted');
  }

  it('uses the catalogue capabilities this spec assumes', () => {
    expect(CAPABILITIES).toMatchObject({
      max_n: 10,
      max_prompt_chars: 32000,
      output_formats: ['png', 'jpeg'],
      streaming: true,
    });
    expect(CAPABILITIES.sizes).not.toContain('512x512');
  });

  it.each<[string, Partial<CreateImageDto>]>([
    ['a minimal request', {}],
    [
      'a full request',
      {
        n: 10,
        size: '1536x1024',
        quality: 'high',
        background: 'opaque',
        output_format: 'jpeg',
        output_compression: 80,
        moderation: 'low',
        user: 'user-1',
        response_format: 'b64_json',
      },
    ],
    ['a transparent png', { background: 'transparent', output_format: 'png' }],
    ['a transparent default-format image', { background: 'transparent' }],
    ['size auto', { size: 'auto' }],
    ['a prompt of exactly max_prompt_chars', { prompt: 'x'.repeat(32000) }],
    ['stream false', { stream: false }],
  ])('accepts %s', (_what, overrides) => {
    expect(() => sut.validate(dto(overrides), MODEL_ID, CAPABILITIES)).not.toThrow();
  });

  it.each<[string, Partial<CreateImageDto>, string]>([
    ['transparent with jpeg', { background: 'transparent', output_format: 'jpeg' }, 'background'],
    ['output_compression with png', { output_compression: 50, output_format: 'png' }, 'output_compression'],
    ['output_compression with the default format (png)', { output_compression: 50 }, 'output_compression'],
    ['partial_images without stream', { partial_images: 2 }, 'partial_images'],
    ['partial_images with stream false', { partial_images: 0, stream: false }, 'partial_images'],
    ['size 512x512', { size: '512x512' }, 'size'],
    ['output_format webp', { output_format: 'webp' }, 'output_format'],
    ['n 11 when max_n is 10', { n: 11 }, 'n'],
    ['a prompt longer than max_prompt_chars', { prompt: 'x'.repeat(32001) }, 'prompt'],
    ['stream with response_format url', { stream: true, response_format: 'url' }, 'response_format'],
  ])('rejects %s with param %s', (_what, overrides, param) => {
    const error = rejectionOf(dto(overrides));

    expect(error.code).toBe(ErrorCode.InvalidRequest);
    expect(error.param).toBe(param);
  });

  it('names the model and the allowed values when a size is not supported', () => {
    const error = rejectionOf(dto({ size: '512x512' }));

    expect(error.message).toContain(MODEL_ID);
    expect(error.message).toContain('1024x1024');
  });

  it('rejects what a model with fewer capabilities does not support', () => {
    const narrow = {
      ...CAPABILITIES,
      qualities: ['auto' as const],
      output_compression: false,
      moderation: false,
      max_n: 1,
      streaming: false,
    };

    expect(rejectionOf(dto({ stream: true }), narrow).param).toBe('stream');
    expect(rejectionOf(dto({ quality: 'high' }), narrow).param).toBe('quality');
    expect(rejectionOf(dto({ n: 2 }), narrow).param).toBe('n');
    expect(rejectionOf(dto({ output_format: 'jpeg', output_compression: 10 }), narrow).param).toBe(
      'output_compression',
    );
    expect(rejectionOf(dto({ moderation: 'low' }), narrow).param).toBe('moderation');
  });

  it('accepts stream with partial_images for a model that streams', () => {
    const streaming = { ...CAPABILITIES, streaming: true };

    expect(() => sut.validate(dto({ stream: true, partial_images: 2 }), MODEL_ID, streaming)).not.toThrow();
  });
});
