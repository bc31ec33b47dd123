import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseUsd } from '../common/money/usd.js';
import { InvalidCatalogueError, loadModelCatalogue, parseModelCatalogue } from './models.catalogue.js';

const REAL_CATALOGUE = fileURLToPath(new URL('../../config/models.yaml', import.meta.url));

/** A valid one-model catalogue entry; tests change one thing each. */
function model(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'azure/openai/test-model',
    provider: 'azure-openai',
    endpoints: ['images'],
    routes: [{ name: 'default', deployment: 'test-model' }],
    capabilities: {
      sizes: ['auto', '1024x1024'],
      qualities: ['auto'],
      backgrounds: ['auto'],
      output_formats: ['png'],
      max_n: 4,
      max_prompt_chars: 1000,
    },
    pricing: { per_million_tokens: { input_text: '5.00', output_image: '40.00' } },
    estimate: { output_image_tokens: 1000 },
    ...overrides,
  };
}

function problemOf(raw: unknown): InvalidCatalogueError {
  try {
    parseModelCatalogue(raw, 'models.yaml');
  } catch (error) {
    if (error instanceof InvalidCatalogueError) return error;
    throw error;
  }
  throw new Error('parseModelCatalogue accepted the catalogue');
}

describe('the Gemini entries', () => {
  const models = loadModelCatalogue(REAL_CATALOGUE);

  it('route the retired preview id to the GA upstream model, with the same prices', () => {
    const preview = models.find((m) => m.id === 'vertex/google/gemini-2.5-flash-image-preview')!;
    const ga = models.find((m) => m.id === 'vertex/google/gemini-2.5-flash-image')!;
    expect(preview.provider).toBe('vertex');
    expect(preview.endpoints).toEqual(['chat', 'images']);
    expect(preview.routes[0]!.upstream_model).toBe('gemini-2.5-flash-image');
    expect(preview.prices).toEqual(ga.prices);
    expect(preview.prices.inputText).toBe(parseUsd('0.30'));
    expect(preview.prices.outputImage).toBe(parseUsd('30'));
    expect(preview.estimate).toEqual({ output_image_tokens: 1290, input_image_tokens: 1290 });
  });
});

describe('parseModelCatalogue estimates', () => {
  it('requires an output token estimate for models priced by image output tokens', () => {
    const { estimate: _omitted, ...withoutEstimate } = model();
    expect(problemOf({ models: [withoutEstimate] }).message).toMatch(/needs estimate\.output_image_tokens/);
  });

  it('accepts a per-quality, per-size estimate table', () => {
    const [parsed] = parseModelCatalogue({
      models: [model({ estimate: { output_image_tokens: { low: { '1024x1024': 272 } } } })],
    });
    expect(parsed!.estimate).toEqual({ output_image_tokens: { low: { '1024x1024': 272 } } });
  });
});

describe('loadModelCatalogue', () => {
  describe('the shipped config/models.yaml', () => {
    const models = loadModelCatalogue(REAL_CATALOGUE);
    const byId = (id: string) => models.find((candidate) => candidate.id === id)!;

    it('has the seed models and the current generation on every provider, in order', () => {
      expect(models.map((m) => m.id)).toEqual([
        'local/easel/sketch',
        'azure/openai/gpt-image-1',
        'azure/openai/gpt-image-1.5',
        'azure/openai/gpt-image-2',
        'vertex/google/gemini-2.5-flash-image-preview',
        'vertex/google/gemini-2.5-flash-image',
        'vertex/google/gemini-3-pro-image',
        'vertex/google/gemini-3.1-flash-lite-image',
        'openai/openai/gpt-image-2.6-sunburst',
        'openai/openai/gpt-image-2.6-flare',
        'openai/openai/gpt-image-2',
        'gemini/google/gemini-3-pro-image',
        'gemini/google/gemini-3.1-flash-lite-image',
        'gemini/google/gemini-nano-banana-2.1',
      ]);
    });

    it('keeps the seed ids working after their upstream shutdown: served by a successor on the same provider', () => {
      expect(byId('azure/openai/gpt-image-1').lifecycle).toEqual({
        shutdownOn: '2026-10-23',
        successor: 'azure/openai/gpt-image-1.5',
        afterShutdown: 'successor',
      });
      expect(byId('azure/openai/gpt-image-1.5').lifecycle).toEqual({
        shutdownOn: '2027-06-16',
        successor: 'azure/openai/gpt-image-2',
        afterShutdown: 'successor',
      });
      expect(byId('vertex/google/gemini-2.5-flash-image-preview').lifecycle).toEqual({
        shutdownOn: '2025-10-31',
        successor: 'vertex/google/gemini-3.1-flash-lite-image',
        afterShutdown: 'successor',
      });
      for (const id of [
        'azure/openai/gpt-image-1',
        'azure/openai/gpt-image-1.5',
        'vertex/google/gemini-2.5-flash-image-preview',
      ]) {
        const model = byId(id);
        expect(byId(model.lifecycle!.successor!).provider).toBe(model.provider);
      }
    });

    it('assigns providers and routes', () => {
      expect(byId('local/easel/sketch').provider).toBe('local');
      expect(byId('azure/openai/gpt-image-1').provider).toBe('azure-openai');
      expect(byId('azure/openai/gpt-image-1').routes).toEqual([
        { name: 'default', deployment: 'gpt-image-1', weight: 1, fallback: false },
      ]);
      expect(byId('azure/openai/gpt-image-1.5').routes[0]!.deployment).toBe('gpt-image-1.5');
    });

    it('parses gpt-image-1 prices into exact pico-dollars', () => {
      expect(byId('azure/openai/gpt-image-1').prices).toEqual({
        inputText: parseUsd('5'),
        inputTextCached: parseUsd('1.25'),
        inputImage: parseUsd('10'),
        inputImageCached: parseUsd('2.5'),
        outputText: 0n,
        outputImage: parseUsd('40'),
        perImage: 0n,
      });
      expect(byId('azure/openai/gpt-image-1').prices.inputText).toBe(5_000_000_000_000n);
    });

    it('parses gpt-image-1.5 prices into exact pico-dollars', () => {
      expect(byId('azure/openai/gpt-image-1.5').prices).toEqual({
        inputText: 5_000_000_000_000n,
        inputTextCached: 1_250_000_000_000n,
        inputImage: 8_000_000_000_000n,
        inputImageCached: 2_000_000_000_000n,
        outputText: 10_000_000_000_000n,
        outputImage: 32_000_000_000_000n,
        perImage: 0n,
      });
    });

    it('makes the local sketch model free', () => {
      expect(Object.values(byId('local/easel/sketch').prices).every((price) => price === 0n)).toBe(true);
    });

    it('keeps webp off for the Azure models', () => {
      expect(byId('azure/openai/gpt-image-1').capabilities.output_formats).toEqual(['png', 'jpeg']);
      expect(byId('local/easel/sketch').capabilities.output_formats).toContain('webp');
    });
  });

  describe('files', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'easel-catalogue-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('names the file when the YAML does not parse', () => {
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, 'models: [\n  - id: "unterminated\n');

      expect(() => loadModelCatalogue(file)).toThrow(InvalidCatalogueError);
      expect(() => loadModelCatalogue(file)).toThrow(file);
    });

    it('throws InvalidCatalogueError when the file is missing', () => {
      expect(() => loadModelCatalogue(join(dir, 'absent.yaml'))).toThrow(InvalidCatalogueError);
    });

    it('names the file and the problem when the content is invalid', () => {
      const file = join(dir, 'models.yaml');
      writeFileSync(file, 'models:\n  - id: no-slashes\n');

      expect(() => loadModelCatalogue(file)).toThrow(new RegExp(`${file}[\\s\\S]*models\\.0\\.id`));
    });
  });
});

describe('parseModelCatalogue', () => {
  it('accepts the base entry and fills defaults', () => {
    const [parsed] = parseModelCatalogue({ models: [model()] });

    expect(parsed!.description).toBe('');
    expect(parsed!.routes[0]!.weight).toBe(1);
    expect(parsed!.capabilities).toMatchObject({ output_compression: false, moderation: false, streaming: false });
    expect(parsed!.prices.inputTextCached).toBe(parsed!.prices.inputText);
  });

  it('takes numbers as prices', () => {
    const [parsed] = parseModelCatalogue({ models: [model({ pricing: { per_image: 0.04 } })] });

    expect(parsed!.prices.perImage).toBe(40_000_000_000n);
  });

  it('rejects duplicate ids', () => {
    const error = problemOf({ models: [model(), model()] });

    expect(error.message).toContain("duplicate model id 'azure/openai/test-model'");
  });

  it('rejects an unknown provider kind', () => {
    const error = problemOf({ models: [model({ provider: 'vertex-ai' })] });

    expect(error.message).toMatch(/models\.0\.provider/);
  });

  it('rejects a model without pricing', () => {
    const { pricing: _pricing, ...withoutPricing } = model();
    const error = problemOf({ models: [withoutPricing] });

    expect(error.message).toMatch(/models\.0\.pricing/);
  });

  it('rejects a pricing block with no price in it', () => {
    const error = problemOf({ models: [model({ pricing: {} })] });

    expect(error.message).toContain('a model needs a price');
  });

  it('rejects a price with 7 decimals', () => {
    const error = problemOf({ models: [model({ pricing: { per_million_tokens: { input_text: '5.0000001' } } })] });

    expect(error.message).toContain('models.0.pricing.per_million_tokens.input_text');
    expect(error.message).toContain('at most 6 decimals');
  });

  it('accepts a price with 6 decimals', () => {
    const [parsed] = parseModelCatalogue({ models: [model({ pricing: { per_image: '0.000001' } })] });

    expect(parsed!.prices.perImage).toBe(1_000_000n);
  });

  it.each([
    ['a model', { models: [model({ colour: 'blue' })] }, 'colour'],
    ['a route', { models: [model({ routes: [{ name: 'a', region: 'eu' }] })] }, 'region'],
    ['the pricing', { models: [model({ pricing: { per_image: '1', per_second: '1' } })] }, 'per_second'],
    ['the root', { models: [model()], extras: true }, 'extras'],
  ])('rejects an unknown key in %s', (_where, raw, key) => {
    expect(problemOf(raw).message).toContain(key);
  });

  it('rejects duplicate route names within a model', () => {
    const error = problemOf({ models: [model({ routes: [{ name: 'a' }, { name: 'a' }] })] });

    expect(error.message).toContain('azure/openai/test-model: route names must be unique');
  });

  it('rejects sizes above 4096 pixels per side', () => {
    const capabilities = { ...(model().capabilities as object), sizes: ['8192x1024'] };
    const error = problemOf({ models: [model({ capabilities })] });

    expect(error.message).toContain('at most 4096 pixels');
  });

  it('rejects an empty catalogue', () => {
    expect(() => parseModelCatalogue({ models: [] })).toThrow(InvalidCatalogueError);
    expect(() => parseModelCatalogue(null)).toThrow(InvalidCatalogueError);
  });

  it('names the file in the message', () => {
    expect(problemOf({ models: [model(), model()] }).message).toMatch(/^Invalid model catalogue models\.yaml:/);
  });
});

describe('parseModelCatalogue edit capabilities', () => {
  /** The base entry with `capabilities` merged in (and `extra` top-level overrides). */
  function withCapabilities(capabilities: object, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return model({ capabilities: { ...(model().capabilities as object), ...capabilities }, ...extra });
  }
  const EDIT_PRICING = { per_million_tokens: { input_text: '5.00', input_image: '10.00', output_image: '40.00' } };

  it('accepts a model that edits, with a mask, input_fidelity and its input image estimate', () => {
    const [parsed] = parseModelCatalogue({
      models: [
        withCapabilities(
          { edits: true, mask: true, input_fidelity: true, max_input_images: 16 },
          { pricing: EDIT_PRICING, estimate: { output_image_tokens: 1000, input_image_tokens: 4160 } },
        ),
      ],
    });

    expect(parsed!.capabilities).toMatchObject({ edits: true, mask: true, input_fidelity: true, max_input_images: 16 });
    expect(parsed!.estimate).toEqual({ output_image_tokens: 1000, input_image_tokens: 4160 });
  });

  it('defaults to a model that does not edit', () => {
    const [parsed] = parseModelCatalogue({ models: [model()] });

    expect(parsed!.capabilities).toMatchObject({
      edits: false,
      mask: false,
      input_fidelity: false,
      max_input_images: 3,
    });
  });

  it.each([
    ['mask', { mask: true }],
    ['input_fidelity', { input_fidelity: true }],
    ['mask with edits: false', { mask: true, edits: false }],
  ])('refuses %s without edits: true', (_what, capabilities) => {
    const error = problemOf({ models: [withCapabilities(capabilities)] });

    expect(error.message).toContain('azure/openai/test-model: mask and input_fidelity need edits: true');
  });

  it('refuses a model that edits with max_input_images 0', () => {
    const error = problemOf({ models: [withCapabilities({ edits: true, max_input_images: 0 })] });

    expect(error.message).toContain('azure/openai/test-model: a model that edits needs max_input_images >= 1');
  });

  it('accepts max_input_images 0 on a model that does not edit', () => {
    const [parsed] = parseModelCatalogue({ models: [withCapabilities({ max_input_images: 0 })] });

    expect(parsed!.capabilities.max_input_images).toBe(0);
  });

  it('refuses a model that edits and prices input images without estimate.input_image_tokens', () => {
    const error = problemOf({ models: [withCapabilities({ edits: true }, { pricing: EDIT_PRICING })] });

    expect(error.message).toContain('azure/openai/test-model');
    expect(error.message).toContain('estimate.input_image_tokens');
  });

  it('needs no input image estimate where input images are free or the model does not edit', () => {
    const free = { per_million_tokens: { input_text: '5.00', input_image: '0', output_image: '40.00' } };

    expect(() => parseModelCatalogue({ models: [withCapabilities({ edits: true }, { pricing: free })] })).not.toThrow();
    expect(() => parseModelCatalogue({ models: [withCapabilities({}, { pricing: EDIT_PRICING })] })).not.toThrow();
  });
});

describe('parseModelCatalogue lifecycle', () => {
  const chat = (id: string, lifecycle?: object) =>
    model({ id, endpoints: ['images', 'chat'], ...(lifecycle ? { lifecycle } : {}) });
  const images = (id: string, lifecycle?: object) => model({ id, ...(lifecycle ? { lifecycle } : {}) });

  it('reads the dates (quoted or as YAML dates), the successor and the default after_shutdown', () => {
    const [old] = parseModelCatalogue({
      models: [
        images('azure/openai/old', {
          deprecated_on: new Date('2026-06-02'),
          shutdown_on: '2026-10-23',
          successor: 'azure/openai/new',
        }),
        images('azure/openai/new'),
      ],
    });

    expect(old!.lifecycle).toEqual({
      deprecatedOn: '2026-06-02',
      shutdownOn: '2026-10-23',
      successor: 'azure/openai/new',
      afterShutdown: 'reject',
    });
  });

  it.each<[string, object[], string]>([
    [
      'an unknown successor',
      [images('azure/openai/old', { successor: 'azure/openai/nowhere' })],
      "'azure/openai/nowhere' is not a model",
    ],
    [
      'a successor of another endpoint',
      [chat('azure/openai/old', { successor: 'azure/openai/new' }), images('azure/openai/new')],
      "'azure/openai/new' does not serve chat",
    ],
    [
      'a cycle of successors',
      [
        images('azure/openai/a', { successor: 'azure/openai/b' }),
        images('azure/openai/b', { successor: 'azure/openai/a' }),
      ],
      'a cycle',
    ],
    [
      'after_shutdown successor without one',
      [images('azure/openai/old', { after_shutdown: 'successor' })],
      'needs lifecycle.successor',
    ],
    [
      'deprecation after shutdown',
      [images('azure/openai/old', { deprecated_on: '2027-01-02', shutdown_on: '2027-01-01' })],
      'is after shutdown_on',
    ],
    ['an impossible date', [images('azure/openai/old', { shutdown_on: '2026-02-30' })], 'must be a date, YYYY-MM-DD'],
  ])('refuses %s, naming it', (_what, models, message) => {
    expect(problemOf({ models }).message).toContain(message);
  });
});
