import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { AppConfig } from '../config/app.config.js';
import type { RoutedProvider } from './provider.interface.js';
import { ProviderRegistry } from './provider-registry.service.js';

const CAPABILITIES = {
  sizes: ['auto'],
  qualities: ['auto'],
  backgrounds: ['auto'],
  output_formats: ['png'],
  max_n: 1,
  max_prompt_chars: 100,
};

/** A catalogue entry for an images model of the local provider; a test overrides what it is about. */
function localModel(overrides: object = {}): object {
  return {
    id: 'local/test/model',
    provider: 'local',
    endpoints: ['images'],
    routes: [{ name: 'a' }],
    capabilities: CAPABILITIES,
    pricing: { per_image: '0' },
    ...overrides,
  };
}

/** A local adapter that serves images only (no chat), plus whatever `extra` methods it is given. */
function imagesOnlyProvider(extra: object = {}): RoutedProvider {
  return {
    kind: 'local',
    resolveRoute: () => ({ target: null, missing: [] }),
    generateImages: async () => ({}),
    ...extra,
  } as unknown as RoutedProvider;
}

/** The registry that boots from a catalogue file listing `models`. */
function registryOf(models: object[], adapter: RoutedProvider = imagesOnlyProvider()): ProviderRegistry {
  const file = join(mkdtempSync(join(tmpdir(), 'easel-registry-')), 'models.yaml');
  writeFileSync(file, stringify({ models }));
  return new ProviderRegistry(AppConfig.fromEnv({ EASEL_MODELS_FILE: file }), [adapter]);
}

describe(ProviderRegistry.name, () => {
  it('draws the first route by weight and never draws a fallback route first', () => {
    const sut = registryOf([
      localModel({
        routes: [
          { name: 'a', weight: 3 },
          { name: 'b', weight: 1 },
          { name: 'backup', weight: 1000, fallback: true },
        ],
      }),
    ]);
    const model = sut.list()[0]!;
    const firsts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const order = sut.routeOrder(model).map((route) => route.name);
      firsts.set(order[0]!, (firsts.get(order[0]!) ?? 0) + 1);
      expect(order.at(-1)).toBe('backup');
      expect(new Set(order).size).toBe(3);
    }
    expect(firsts.get('backup')).toBeUndefined();
    // 3:1 → about 3000 and 1000 draws; generous bounds keep this deterministic in practice.
    expect(firsts.get('a')).toBeGreaterThan(2600);
    expect(firsts.get('b')).toBeGreaterThan(700);
  });

  it('refuses to boot when an adapter cannot serve an endpoint the catalogue gives the model', () => {
    expect(() => registryOf([localModel({ endpoints: ['chat'] })], imagesOnlyProvider())).toThrow(
      /cannot serve \/v1\/chat\/completions/,
    );
  });

  it('looks a model up typed for its endpoint, with the errors a client gets for the wrong one', () => {
    const streaming = imagesOnlyProvider({ generateImagesStream: async function* () {} });
    const sut = registryOf(
      [
        localModel({ id: 'local/test/still' }),
        localModel({ id: 'local/test/streams', capabilities: { ...CAPABILITIES, streaming: true } }),
      ],
      streaming,
    );

    expect(sut.imageModel('local/test/still').provider).toBe(streaming);
    expect(sut.imageStreamModel('local/test/streams').provider).toBe(streaming);
    expect(() => sut.imageStreamModel('local/test/still')).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidRequest,
        param: 'stream',
        message: 'local/test/still does not support stream: true on this endpoint.',
      }),
    );
    expect(() => sut.chatModel('local/test/still')).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidRequest,
        param: 'model',
        message:
          "The model 'local/test/still' is not served on /v1/chat/completions; it serves /v1/images/generations.",
      }),
    );
    expect(() => sut.imageStreamModel('nope')).toThrow(
      expect.objectContaining({ code: ErrorCode.ModelNotFound, param: 'model' }),
    );
  });
});
