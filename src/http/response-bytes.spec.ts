import { join } from 'node:path';
import { loadModelCatalogue } from '../config/models.catalogue.js';
import { estimateResponseBytes } from './response-bytes.js';

const catalogue = loadModelCatalogue(join(process.cwd(), 'config/models.yaml'));
const capabilitiesOf = (id: string) => catalogue.find((model) => model.id === id)!.capabilities;
const GPT_IMAGE = capabilitiesOf('azure/openai/gpt-image-1.5');
const GPT_IMAGE_2 = capabilitiesOf('azure/openai/gpt-image-2');
const GEMINI = capabilitiesOf('vertex/google/gemini-3-pro-image');
const LOCAL = capabilitiesOf('local/easel/sketch');

/** The base64 length of `bytes` bytes. */
const base64 = (bytes: number) => Math.ceil(bytes / 3) * 4;

describe(estimateResponseBytes.name, () => {
  it('bounds a PNG by 4 bytes a pixel, as base64: 5,592,408 bytes for 1024x1024', () => {
    expect(estimateResponseBytes(GPT_IMAGE, { n: 1, size: '1024x1024', outputFormat: 'png' })).toBe(5_592_408);
    expect(base64(1024 * 1024 * 4)).toBe(5_592_408);
  });

  it('counts every image asked for', () => {
    expect(estimateResponseBytes(GPT_IMAGE, { n: 3, size: '1536x1024', outputFormat: 'png' })).toBe(
      3 * base64(1536 * 1024 * 4),
    );
  });

  it('bounds a JPEG by 3 bytes a pixel, a WebP by 4, an unknown format (chat) by 4', () => {
    expect(estimateResponseBytes(GPT_IMAGE, { n: 1, size: '1024x1024', outputFormat: 'jpeg' })).toBe(
      base64(1024 * 1024 * 3),
    );
    expect(estimateResponseBytes(LOCAL, { n: 1, size: '1024x1024', outputFormat: 'webp' })).toBe(
      base64(1024 * 1024 * 4),
    );
    expect(estimateResponseBytes(GEMINI, { n: 1, size: '1024x1024' })).toBe(base64(1024 * 1024 * 4));
  });

  it('bounds size auto by the largest size the model lists', () => {
    expect(estimateResponseBytes(GPT_IMAGE, { n: 1, size: 'auto', outputFormat: 'png' })).toBe(base64(1536 * 1024 * 4));
    expect(estimateResponseBytes(LOCAL, { n: 1, size: 'auto', outputFormat: 'png' })).toBe(base64(1792 * 1024 * 4));
  });

  it('takes a custom size at its pixels', () => {
    expect(estimateResponseBytes(GPT_IMAGE_2, { n: 1, size: '3840x2160', outputFormat: 'png' })).toBe(
      base64(3840 * 2160 * 4),
    );
  });

  it("takes the pixels of the resolution tier asked for, whatever the size (a 4K Gemini image: 4096x4096's)", () => {
    expect(estimateResponseBytes(GEMINI, { n: 1, size: 'auto', imageSize: '4K' })).toBe(base64(4096 * 4096 * 4));
    expect(estimateResponseBytes(LOCAL, { n: 2, size: '256x256', imageSize: '512', outputFormat: 'png' })).toBe(
      2 * base64(512 * 512 * 4),
    );
  });

  it('counts the partial images of a stream, each as large as the image', () => {
    expect(estimateResponseBytes(GPT_IMAGE, { n: 2, size: '1024x1024', outputFormat: 'png', partialImages: 3 })).toBe(
      8 * 5_592_408,
    );
  });

  it('is 0 for a request without images (a text-only chat)', () => {
    expect(estimateResponseBytes(GEMINI, { n: 0, size: 'auto' })).toBe(0);
  });

  it('bounds a model that lists no size but auto by 1024x1024, the upstream default', () => {
    expect(estimateResponseBytes({ ...GEMINI, sizes: ['auto'] }, { n: 1, size: 'auto' })).toBe(base64(1024 * 1024 * 4));
  });
});
