import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { errorThrownBy } from '../../test/utils/thrown-error.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { loadModelCatalogue } from '../config/models.catalogue.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { CreateImageEditDto } from './dto/create-image-edit.dto.js';
import { ImageRequestValidator, type ReceivedImage } from './image-request.validator.js';

const CATALOGUE = fileURLToPath(new URL('../../config/models.yaml', import.meta.url));
const MODELS = loadModelCatalogue(CATALOGUE);
const capabilitiesOf = (id: string) => MODELS.find((model) => model.id === id)!.capabilities;
const MODEL_ID = 'azure/openai/gpt-image-1';
const CAPABILITIES = capabilitiesOf(MODEL_ID);

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

  describe('custom sizes (gpt-image-2: multiples of 16, 655,360–8,294,400 pixels, edges ≤ 3824, at most 3:1)', () => {
    const GPT_IMAGE_2 = capabilitiesOf('azure/openai/gpt-image-2');
    const sizeRefusal = (size: string) => rejectionOf(dto({ size }), GPT_IMAGE_2);

    it.each(['2048x1152', '3824x1280', '1024x1024', '816x816'])('accepts %s', (size) => {
      expect(() => sut.validate(dto({ size }), MODEL_ID, GPT_IMAGE_2)).not.toThrow();
    });

    it.each([
      ['1000x1000', 'multiples of 16'],
      ['3840x2160', 'no edge may exceed 3824'],
      ['800x800', 'between 655360 and 8294400 pixels'],
      ['3824x3824', 'between 655360 and 8294400 pixels'],
      ['3216x1056', 'at most 3 times'],
      ['01024x01024', 'without leading zeros'],
      ['0x0', 'between 655360 and 8294400 pixels'],
    ])('refuses %s, naming the rule it breaks (%s)', (size, rule) => {
      const error = sizeRefusal(size);

      expect(error.param).toBe('size');
      expect(error.message).toContain(rule);
    });

    it('takes no custom size on a model without the rules', () => {
      expect(rejectionOf(dto({ size: '2048x1152' })).param).toBe('size');
    });
  });

  it('takes image_size only where the model lists the tier, and says when a model has none', () => {
    const tiered = capabilitiesOf('vertex/google/gemini-3.1-flash-lite-image');

    expect(() => sut.validate(dto({ image_size: '1K' }), MODEL_ID, tiered)).not.toThrow();
    expect(rejectionOf(dto({ image_size: '2K' }), tiered)).toMatchObject({
      code: ErrorCode.InvalidRequest,
      param: 'image_size',
      message: expect.stringContaining('use one of: 1K'),
    });
    expect(rejectionOf(dto({ image_size: '2K' }))).toMatchObject({
      code: ErrorCode.UnsupportedParameter,
      param: 'image_size',
    });
  });

  it('accepts stream with partial_images for a model that streams', () => {
    const streaming = { ...CAPABILITIES, streaming: true };

    expect(() => sut.validate(dto({ stream: true, partial_images: 2 }), MODEL_ID, streaming)).not.toThrow();
  });

  describe('edits', () => {
    /** Takes masks, input_fidelity and 16 images. */
    const SKETCH = 'local/easel/sketch';
    /** Takes 3 images, no mask, no input_fidelity. */
    const GEMINI = 'vertex/google/gemini-2.5-flash-image';
    const WIDTH = 40;
    const HEIGHT = 30;

    let png: Buffer;
    let pngWithAlpha: Buffer;
    let jpeg: Buffer;
    let webp: Buffer;

    const image = (channels: 3 | 4, width = WIDTH, height = HEIGHT) =>
      sharp({ create: { width, height, channels, background: { r: 10, g: 120, b: 200, alpha: 0.5 } } });

    beforeAll(async () => {
      png = await image(3).png().toBuffer();
      pngWithAlpha = await image(4).png().toBuffer();
      jpeg = await image(3).jpeg().toBuffer();
      webp = await image(3, 64, 48).webp().toBuffer();
    });

    const received = (bytes: Buffer, index: number): ReceivedImage => ({ param: `image[${index}]`, bytes });
    const images = (...all: Buffer[]) => all.map(received);
    const mask = (bytes: Buffer): ReceivedImage => ({ param: 'mask', bytes });

    function editFields(overrides: Partial<CreateImageEditDto> = {}): CreateImageEditDto {
      return { model: SKETCH, prompt: 'make the sky green', ...overrides } as CreateImageEditDto;
    }

    /** The defaults: 25 MB a file, 100 MB a request. */
    const UPLOADS = { maxFileBytes: 25 * 1024 * 1024, maxTotalBytes: 100 * 1024 * 1024 };
    /** What a request sent, before its images are read: the params only. */
    const sentOf = (sent: ReceivedImage[], sentMask?: ReceivedImage) => ({ images: sent, mask: sentMask });

    function imagesError(
      sent: ReceivedImage[],
      sentMask: ReceivedImage | undefined,
      modelId: string,
      uploads = UPLOADS,
    ): GatewayError {
      return errorThrownBy(
        () => sut.validateEditImages(sent, sentMask, modelId, capabilitiesOf(modelId), uploads),
        GatewayError,
      );
    }

    function fieldsError(sent: ReceivedImage[], sentMask: ReceivedImage | undefined, modelId: string): GatewayError {
      return errorThrownBy(
        () =>
          sut.validateEditFields(
            editFields({ model: modelId }),
            sentOf(sent, sentMask),
            modelId,
            capabilitiesOf(modelId),
          ),
        GatewayError,
      );
    }

    it('uses the catalogue capabilities this spec assumes', () => {
      expect(capabilitiesOf(SKETCH)).toMatchObject({
        edits: true,
        mask: true,
        input_fidelity: true,
        max_input_images: 16,
      });
      expect(capabilitiesOf(GEMINI)).toMatchObject({
        edits: true,
        mask: false,
        input_fidelity: false,
        max_input_images: 3,
      });
    });

    describe('validateEditFields', () => {
      it('accepts input_fidelity where the model takes it', () => {
        expect(() =>
          sut.validateEditFields(
            editFields({ input_fidelity: 'high' }),
            sentOf(images(png)),
            SKETCH,
            capabilitiesOf(SKETCH),
          ),
        ).not.toThrow();
      });

      it('refuses input_fidelity where the model does not take it, as an unsupported parameter', () => {
        const error = errorThrownBy(
          () =>
            sut.validateEditFields(
              editFields({ model: GEMINI, input_fidelity: 'low' }),
              sentOf(images(png)),
              GEMINI,
              capabilitiesOf(GEMINI),
            ),
          GatewayError,
        );

        expect(error.code).toBe(ErrorCode.UnsupportedParameter);
        expect(error.param).toBe('input_fidelity');
        expect(error.message).toContain(GEMINI);
      });

      it('accepts an edit without input_fidelity on a model that does not take it', () => {
        expect(() =>
          sut.validateEditFields(editFields({ model: GEMINI }), sentOf(images(png)), GEMINI, capabilitiesOf(GEMINI)),
        ).not.toThrow();
      });

      it("applies a generation's rules too", () => {
        const error = errorThrownBy(
          () =>
            sut.validateEditFields(
              editFields({ model: GEMINI, quality: 'high' }),
              sentOf(images(png)),
              GEMINI,
              capabilitiesOf(GEMINI),
            ),
          GatewayError,
        );

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe('quality');
      });
    });

    describe('validateEditImages', () => {
      it('returns each image as its bytes show it: format, MIME type and pixel size', () => {
        const sent = images(png, jpeg, webp);

        const result = sut.validateEditImages(sent, undefined, SKETCH, capabilitiesOf(SKETCH), UPLOADS);

        expect(result).toEqual({
          images: [
            { bytes: png, format: 'png', mimeType: 'image/png', width: WIDTH, height: HEIGHT },
            { bytes: jpeg, format: 'jpeg', mimeType: 'image/jpeg', width: WIDTH, height: HEIGHT },
            { bytes: webp, format: 'webp', mimeType: 'image/webp', width: 64, height: 48 },
          ],
        });
        expect(result.images[0]!.bytes).toBe(png);
        expect(result).not.toHaveProperty('mask');
      });

      it('returns a PNG mask with alpha the size of the first image', () => {
        const result = sut.validateEditImages(
          images(jpeg, webp),
          mask(pngWithAlpha),
          SKETCH,
          capabilitiesOf(SKETCH),
          UPLOADS,
        );

        expect(result.mask).toEqual({
          bytes: pngWithAlpha,
          format: 'png',
          mimeType: 'image/png',
          width: WIDTH,
          height: HEIGHT,
        });
        expect(result.images.map((input) => input.format)).toEqual(['jpeg', 'webp']);
      });

      it('accepts as many images as the model takes', () => {
        expect(
          sut.validateEditImages(images(png, png, png), undefined, GEMINI, capabilitiesOf(GEMINI), UPLOADS).images,
        ).toHaveLength(3);
        expect(
          sut.validateEditImages(
            images(...Array<Buffer>(16).fill(png)),
            undefined,
            SKETCH,
            capabilitiesOf(SKETCH),
            UPLOADS,
          ).images,
        ).toHaveLength(16);
      });

      it.each([
        [GEMINI, 4, 'image[3]'],
        [SKETCH, 17, 'image[16]'],
      ])('refuses more images than %s takes (%i sent), naming the first one too many', (modelId, count, param) => {
        const error = fieldsError(images(...Array<Buffer>(count).fill(png)), undefined, modelId);

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe(param);
        expect(error.message).toContain(modelId);
      });

      it('names the param each image came with (a JSON body names them images[i])', () => {
        const sent = [
          { param: 'images[0]', bytes: png },
          { param: 'images[1]', bytes: Buffer.from('plain text') },
        ];

        expect(imagesError(sent, undefined, SKETCH).param).toBe('images[1]');
      });

      it('refuses an empty image, naming it', () => {
        const error = imagesError(images(png, Buffer.alloc(0)), undefined, SKETCH);

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe('image[1]');
        expect(error.message).toContain('empty');
      });

      it('refuses a file that is not a PNG, JPEG or WebP by its bytes, naming it', () => {
        const error = imagesError(images(png, jpeg, Buffer.from('just some text\n')), undefined, SKETCH);

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe('image[2]');
        expect(error.message).toContain('not a PNG, JPEG or WebP');
      });

      it('refuses a mask where the model takes none, as an unsupported parameter', () => {
        const error = fieldsError(images(png), mask(pngWithAlpha), GEMINI);

        expect(error.code).toBe(ErrorCode.UnsupportedParameter);
        expect(error.param).toBe('mask');
        expect(error.message).toContain(GEMINI);
      });

      it.each<[string, () => Buffer]>([
        ['a JPEG', () => jpeg],
        ['a PNG without alpha', () => png],
        ['an empty file', () => Buffer.alloc(0)],
        ['a text file', () => Buffer.from('not an image')],
      ])('refuses %s as a mask, naming mask', (_what, bytes) => {
        const error = imagesError(images(pngWithAlpha), mask(bytes()), SKETCH);

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe('mask');
      });

      it('refuses a file over UPLOAD_MAX_FILE_BYTES, or files over UPLOAD_MAX_TOTAL_BYTES together, with 413', () => {
        const uploads = { maxFileBytes: png.length, maxTotalBytes: 2 * png.length };

        const file = imagesError(images(png, Buffer.concat([png, Buffer.alloc(1)])), undefined, SKETCH, uploads);
        const total = imagesError(images(png), mask(png), SKETCH, { ...uploads, maxTotalBytes: png.length + 1 });

        expect([file.code, file.param]).toEqual([ErrorCode.FileTooLarge, 'image[1]']);
        expect([total.code, total.param]).toEqual([ErrorCode.FileTooLarge, 'mask']);
        expect(total.message).toContain('UPLOAD_MAX_TOTAL_BYTES');
      });

      it("refuses an image over the model's own limit (Gemini: 7 MB inline) with 400", () => {
        const large = Buffer.concat([png, Buffer.alloc(7 * 1024 * 1024)]);

        const error = imagesError(images(png, large), undefined, GEMINI);

        expect([error.code, error.param]).toEqual([ErrorCode.InvalidRequest, 'image[1]']);
        expect(error.message).toContain(GEMINI);
      });

      it('refuses a mask of another size than the first image, naming both sizes', async () => {
        const larger = await image(4, WIDTH + 1, HEIGHT)
          .png()
          .toBuffer();

        const error = imagesError(images(png, larger), mask(larger), SKETCH);

        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.param).toBe('mask');
        expect(error.message).toContain(`${WIDTH + 1}x${HEIGHT}`);
        expect(error.message).toContain(`${WIDTH}x${HEIGHT}`);
      });
    });
  });
});
