import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { AppConfig } from '../config/app.config.js';
import type { RoutedProvider } from './provider.interface.js';
import { ProviderRegistry } from './provider-registry.service.js';

function registryWith(routes: object[]): ProviderRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'easel-registry-'));
  const file = join(dir, 'models.yaml');
  writeFileSync(
    file,
    stringify({
      models: [
        {
          id: 'local/test/model',
          provider: 'local',
          endpoints: ['images'],
          routes,
          capabilities: {
            sizes: ['auto'],
            qualities: ['auto'],
            backgrounds: ['auto'],
            output_formats: ['png'],
            max_n: 1,
            max_prompt_chars: 100,
          },
          pricing: { per_image: '0' },
        },
      ],
    }),
  );
  const local = {
    kind: 'local',
    resolveRoute: () => ({ target: null, missing: [] }),
    generateImages: async () => ({}),
  } as unknown as RoutedProvider;
  return new ProviderRegistry(AppConfig.fromEnv({ EASEL_MODELS_FILE: file }), [local]);
}

describe(ProviderRegistry.name, () => {
  it('draws the first route by weight and never draws a fallback route first', () => {
    const sut = registryWith([
      { name: 'a', weight: 3 },
      { name: 'b', weight: 1 },
      { name: 'backup', weight: 1000, fallback: true },
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
    const dir = mkdtempSync(join(tmpdir(), 'easel-registry-'));
    const file = join(dir, 'models.yaml');
    writeFileSync(
      file,
      stringify({
        models: [
          {
            id: 'local/test/model',
            provider: 'local',
            endpoints: ['chat'],
            routes: [{ name: 'a' }],
            capabilities: {
              sizes: ['auto'],
              qualities: ['auto'],
              backgrounds: ['auto'],
              output_formats: ['png'],
              max_n: 1,
              max_prompt_chars: 100,
            },
            pricing: { per_image: '0' },
          },
        ],
      }),
    );
    const imagesOnly = {
      kind: 'local',
      resolveRoute: () => ({ target: null, missing: [] }),
      generateImages: async () => ({}),
    } as unknown as RoutedProvider;
    expect(() => new ProviderRegistry(AppConfig.fromEnv({ EASEL_MODELS_FILE: file }), [imagesOnly])).toThrow(
      /cannot serve \/v1\/chat\/completions/,
    );
  });

  it('looks a model up typed for its endpoint, with the errors a client gets for the wrong one', () => {
    const capabilities = {
      sizes: ['auto'],
      qualities: ['auto'],
      backgrounds: ['auto'],
      output_formats: ['png'],
      max_n: 1,
      max_prompt_chars: 100,
    };
    const dir = mkdtempSync(join(tmpdir(), 'easel-registry-'));
    const file = join(dir, 'models.yaml');
    writeFileSync(
      file,
      stringify({
        models: [
          {
            id: 'local/test/still',
            provider: 'local',
            endpoints: ['images'],
            routes: [{ name: 'a' }],
            capabilities,
            pricing: { per_image: '0' },
          },
          {
            id: 'local/test/streams',
            provider: 'local',
            endpoints: ['images'],
            routes: [{ name: 'a' }],
            capabilities: { ...capabilities, streaming: true },
            pricing: { per_image: '0' },
          },
        ],
      }),
    );
    const streaming = {
      kind: 'local',
      resolveRoute: () => ({ target: null, missing: [] }),
      generateImages: async () => ({}),
      generateImagesStream: async function* () {},
    } as unknown as RoutedProvider;
    const sut = new ProviderRegistry(AppConfig.fromEnv({ EASEL_MODELS_FILE: file }), [streaming]);

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
