import sharp from 'sharp';
import type { ImageEditRequest, ImageStreamEvent, InputImage } from '../image-provider.interface.js';
import { LocalSketchAdapter } from './local-sketch.adapter.js';

/** A PNG input image of one colour, as the edit endpoint hands it to providers. */
async function inputImage(width = 300, height = 200, background = '#3366aa'): Promise<InputImage> {
  const bytes = await sharp({ create: { width, height, channels: 4, background } })
    .png()
    .toBuffer();
  return { bytes, format: 'png', mimeType: 'image/png', width, height };
}

/** A mask the size of `inputImage()`, transparent (editable) in its left half only. */
async function leftHalfMask(width = 300, height = 200): Promise<InputImage> {
  const pixels = Buffer.alloc(width * height * 4);
  for (let pixel = 0; pixel < width * height; pixel++) pixels[pixel * 4 + 3] = pixel % width < width / 2 ? 0 : 255;
  const bytes = await sharp(pixels, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
  return { bytes, format: 'png', mimeType: 'image/png', width, height };
}

async function editRequest(overrides: Partial<ImageEditRequest> = {}): Promise<ImageEditRequest> {
  return {
    prompt: 'a lighthouse at dusk',
    n: 1,
    size: '256x256',
    outputFormat: 'png',
    images: [await inputImage()],
    ...overrides,
  };
}

async function collect(events: AsyncIterable<ImageStreamEvent>): Promise<ImageStreamEvent[]> {
  const collected: ImageStreamEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

describe(LocalSketchAdapter.name, () => {
  let sut: LocalSketchAdapter;
  const signal = new AbortController().signal;

  beforeEach(() => {
    sut = new LocalSketchAdapter();
  });

  describe('editImages', () => {
    it('returns n images of the requested size and format, and zero tokens with images = n', async () => {
      const result = await sut.editImages(
        null,
        await editRequest({ n: 3, size: '512x256', outputFormat: 'webp', quality: 'high', mask: await leftHalfMask() }),
        signal,
      );

      expect(result).toMatchObject({
        size: '512x256',
        quality: 'high',
        background: 'opaque',
        outputFormat: 'webp',
        usage: {
          inputTextTokens: 0,
          inputImageTokens: 0,
          cachedInputTokens: 0,
          outputTextTokens: 0,
          outputImageTokens: 0,
          images: 3,
        },
      });
      expect(result.images).toHaveLength(3);
      for (const image of result.images) {
        expect(await sharp(image.bytes()).metadata()).toMatchObject({ width: 512, height: 256, format: 'webp' });
      }
      expect(new Set(result.images.map((image) => image.base64())).size).toBe(3);
    });

    it('edits at 1024x1024 for size auto', async () => {
      const result = await sut.editImages(null, await editRequest({ size: 'auto', outputFormat: 'jpeg' }), signal);

      expect(result.size).toBe('1024x1024');
      expect(await sharp(result.images[0]!.bytes()).metadata()).toMatchObject({
        width: 1024,
        height: 1024,
        format: 'jpeg',
      });
    });

    it('reports and keeps a transparent background', async () => {
      const request = await editRequest({
        background: 'transparent',
        images: [await inputImage(300, 200, '#00000000')],
      });

      const result = await sut.editImages(null, request, signal);

      expect(result.background).toBe('transparent');
      expect((await sharp(result.images[0]!.bytes()).stats()).isOpaque).toBe(false);
    });

    it('is deterministic: the same request gives identical images', async () => {
      const request = await editRequest({ n: 2, mask: await leftHalfMask() });

      const [first, second] = await Promise.all([
        sut.editImages(null, request, signal),
        sut.editImages(null, request, signal),
      ]);

      expect(first.images.map((image) => image.base64())).toEqual(second.images.map((image) => image.base64()));
    });

    it('edits the first image: it shows where the mask protects it', async () => {
      const result = await sut.editImages(
        null,
        await editRequest({
          images: [await inputImage(300, 200, '#ff0000'), await inputImage(300, 200, '#0000ff')],
          mask: await leftHalfMask(),
        }),
        signal,
      );

      const pixels = await sharp(result.images[0]!.bytes()).removeAlpha().raw().toBuffer();
      const topRight = (256 - 1) * 3;

      expect([...pixels.subarray(topRight, topRight + 3)]).toEqual([255, 0, 0]);
    });

    it('changes the result with the number of further input images', async () => {
      const first = await inputImage();
      const [alone, withTwoMore] = await Promise.all([
        sut.editImages(null, await editRequest({ images: [first] }), signal),
        sut.editImages(null, await editRequest({ images: [first, await inputImage(), await inputImage()] }), signal),
      ]);

      expect(alone.images[0]!.bytes().equals(withTwoMore.images[0]!.bytes())).toBe(false);
    });

    it('changes the result with the mask', async () => {
      const request = await editRequest();
      const [unmasked, masked] = await Promise.all([
        sut.editImages(null, request, signal),
        sut.editImages(null, { ...request, mask: await leftHalfMask() }, signal),
      ]);

      expect(unmasked.images[0]!.bytes().equals(masked.images[0]!.bytes())).toBe(false);
    });

    it('rejects when the signal is aborted', async () => {
      await expect(sut.editImages(null, await editRequest(), AbortSignal.abort())).rejects.toMatchObject({
        name: 'AbortError',
      });
    });
  });

  describe('editImagesStream', () => {
    it('yields each image’s partials, then the image, then done', async () => {
      const request = await editRequest({ n: 2, mask: await leftHalfMask() });

      const events = await collect(sut.editImagesStream(null, request, 2, signal));

      expect(events.map((event) => event.type)).toEqual([
        'partial',
        'partial',
        'completed',
        'partial',
        'partial',
        'completed',
        'done',
      ]);
      expect(events.slice(0, 6)).toMatchObject([
        { imageIndex: 0, partialIndex: 0 },
        { imageIndex: 0, partialIndex: 1 },
        { imageIndex: 0 },
        { imageIndex: 1, partialIndex: 0 },
        { imageIndex: 1, partialIndex: 1 },
        { imageIndex: 1 },
      ]);
      expect(events[6]).toEqual({
        type: 'done',
        size: '256x256',
        quality: 'medium',
        background: 'opaque',
        outputFormat: 'png',
        usage: expect.objectContaining({ images: 2, outputImageTokens: 0 }),
      });
    });

    it('completes with the images editImages returns, after blurred partials of them', async () => {
      const request = await editRequest({ n: 2 });

      const [events, result] = await Promise.all([
        collect(sut.editImagesStream(null, request, 1, signal)),
        sut.editImages(null, request, signal),
      ]);
      const bytes = (type: ImageStreamEvent['type']) =>
        events.flatMap((event) => (event.type === type && 'image' in event ? [event.image.base64()] : []));

      expect(bytes('completed')).toEqual(result.images.map((image) => image.base64()));
      for (const partial of bytes('partial')) {
        expect(result.images.map((image) => image.base64())).not.toContain(partial);
      }
      for (const event of events.filter((event) => event.type === 'partial')) {
        expect(await sharp(event.image.bytes()).metadata()).toMatchObject({ width: 256, height: 256, format: 'png' });
      }
    });

    it('rejects when the signal is aborted', async () => {
      await expect(
        collect(sut.editImagesStream(null, await editRequest(), 2, AbortSignal.abort())),
      ).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  describe('generateImagesStream', () => {
    it('yields partials, the image, then done, as edits do', async () => {
      const events = await collect(
        sut.generateImagesStream(null, { prompt: 'a heron', n: 1, size: '256x256', outputFormat: 'png' }, 2, signal),
      );

      expect(events.map((event) => event.type)).toEqual(['partial', 'partial', 'completed', 'done']);
    });
  });
});
