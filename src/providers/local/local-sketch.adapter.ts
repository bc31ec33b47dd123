import { Injectable } from '@nestjs/common';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import type { GeneratedImages, ImageGenerationRequest, ImageProvider, ResolvedTarget } from '../provider.interface.js';
import { ImagePayload } from '../provider.interface.js';
import { renderSketch } from './sketch.renderer.js';

const DEFAULT_SIZE = '1024x1024';

/** The built-in `local` provider: renders with sharp, no network, no tokens. */
@Injectable()
export class LocalSketchAdapter implements ImageProvider<null> {
  readonly kind = 'local' as const;

  resolveRoute(_model: ModelDefinition, _route: RouteDefinition): ResolvedTarget<null> {
    return { target: null, missing: [] };
  }

  async generateImages(_target: null, request: ImageGenerationRequest, signal: AbortSignal): Promise<GeneratedImages> {
    const size = request.size === 'auto' ? DEFAULT_SIZE : request.size;
    const [width, height] = size.split('x').map(Number) as [number, number];
    const transparent = request.background === 'transparent';
    const images: ImagePayload[] = [];
    for (let seed = 0; seed < request.n; seed++) {
      signal.throwIfAborted();
      const bytes = await renderSketch({
        prompt: request.prompt,
        seed,
        width,
        height,
        format: request.outputFormat,
        transparent,
        compression: request.outputCompression,
      });
      images.push(ImagePayload.fromBytes(bytes));
    }
    return {
      images,
      size,
      quality: request.quality && request.quality !== 'auto' ? request.quality : 'medium',
      background: transparent ? 'transparent' : 'opaque',
      outputFormat: request.outputFormat,
      usage: {
        inputTextTokens: 0,
        inputImageTokens: 0,
        cachedInputTokens: 0,
        outputTextTokens: 0,
        outputImageTokens: 0,
        images: request.n,
      },
    };
  }
}
