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

  describe('edits', () => {
    const EDITS = { ...CAPABILITIES, edits: true };
    const EDITS_AND_STREAMS = { ...EDITS, streaming: true };
    const generateImagesStream = async function* () {};
    const editImages = async () => ({});
    const editImagesStream = async function* () {};

    it('refuses to boot when a model edits but its adapter has no editImages', () => {
      expect(() => registryOf([localModel({ capabilities: EDITS })], imagesOnlyProvider())).toThrow(
        "Model local/test/model: capabilities.edits needs endpoint 'images' and a provider that edits ('local' does not)",
      );
    });

    it('refuses to boot when a model edits but is not served on images', () => {
      const chatOnly = imagesOnlyProvider({ chat: async () => ({}), editImages });

      expect(() => registryOf([localModel({ endpoints: ['chat'], capabilities: EDITS })], chatOnly)).toThrow(
        /capabilities\.edits needs endpoint 'images'/,
      );
    });

    it('refuses to boot when a model edits and streams but its adapter has no editImagesStream', () => {
      const adapter = imagesOnlyProvider({ generateImagesStream, editImages });

      expect(() => registryOf([localModel({ capabilities: EDITS_AND_STREAMS })], adapter)).toThrow(
        "Model local/test/model: provider 'local' cannot stream edits (capabilities.streaming with edits)",
      );
    });

    it('boots an adapter without edit methods while no model edits', () => {
      const sut = registryOf([localModel()], imagesOnlyProvider());

      expect(sut.has('local/test/model')).toBe(true);
    });

    describe('lookups', () => {
      let sut: ProviderRegistry;
      let adapter: RoutedProvider;

      beforeEach(() => {
        adapter = imagesOnlyProvider({ generateImagesStream, editImages, editImagesStream });
        sut = registryOf(
          [
            localModel({ id: 'local/test/generates' }),
            localModel({ id: 'local/test/edits', capabilities: EDITS }),
            localModel({ id: 'local/test/streams-edits', capabilities: EDITS_AND_STREAMS }),
          ],
          adapter,
        );
      });

      it('finds a model that edits, typed for the edits endpoint', () => {
        expect(sut.editModel('local/test/edits').provider).toBe(adapter);
        expect(sut.editModel('local/test/edits').definition.id).toBe('local/test/edits');
        expect(sut.editStreamModel('local/test/streams-edits').provider).toBe(adapter);
      });

      it.each(['editModel', 'editStreamModel'] as const)('%s: 404 model_not_found for an unknown model', (lookup) => {
        expect(() => sut[lookup]('local/test/nope')).toThrow(
          expect.objectContaining({ code: ErrorCode.ModelNotFound, param: 'model' }),
        );
      });

      it.each(['editModel', 'editStreamModel'] as const)(
        '%s: 400 invalid_value on model for a model that does not edit',
        (lookup) => {
          expect(() => sut[lookup]('local/test/generates')).toThrow(
            expect.objectContaining({
              code: ErrorCode.InvalidRequest,
              param: 'model',
              message: expect.stringContaining('does not edit images') as unknown,
            }),
          );
        },
      );

      it('editStreamModel: 400 on stream for a model that edits but cannot stream', () => {
        expect(() => sut.editStreamModel('local/test/edits')).toThrow(
          expect.objectContaining({
            code: ErrorCode.InvalidRequest,
            param: 'stream',
            message: 'local/test/edits does not support stream: true on this endpoint.',
          }),
        );
      });

      it('keeps serving every model on generations', () => {
        expect(sut.imageModel('local/test/edits').provider).toBe(adapter);
        expect(sut.imageStreamModel('local/test/streams-edits').provider).toBe(adapter);
      });
    });
  });
});
