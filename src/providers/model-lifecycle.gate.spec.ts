import { lifecycleVerdict } from './model-lifecycle.gate.js';

describe(lifecycleVerdict.name, () => {
  const lifecycle = {
    deprecatedOn: '2026-01-01',
    shutdownOn: '2099-01-01',
    successor: 'azure/openai/gpt-image-2',
    afterShutdown: 'reject' as const,
  };

  it('announces a model before its shutdown with Deprecation, Sunset and a successor Link', () => {
    expect(lifecycleVerdict(lifecycle, '2026-12-03')).toEqual({
      state: 'deprecated',
      headers: {
        deprecation: '@1767225600',
        sunset: 'Thu, 01 Jan 2099 00:00:00 GMT',
        link: '</v1/models/azure%2Fopenai%2Fgpt-image-2>; rel="successor-version"',
      },
    });
  });

  it('sends only the headers whose dates or successor the catalogue gives', () => {
    expect(lifecycleVerdict({ shutdownOn: '2099-01-01', afterShutdown: 'reject' }, '2026-12-03')).toEqual({
      state: 'deprecated',
      headers: { sunset: 'Thu, 01 Jan 2099 00:00:00 GMT' },
    });
  });

  it('is retired from its shutdown day on, with what to do then', () => {
    expect(lifecycleVerdict(lifecycle, '2099-01-01')).toEqual({
      state: 'retired',
      afterShutdown: 'reject',
      successor: 'azure/openai/gpt-image-2',
    });
  });

  it('leaves a model without dates alone', () => {
    expect(lifecycleVerdict(undefined, '2026-12-03')).toEqual({ state: 'active' });
    expect(lifecycleVerdict({ successor: 'x/y/z', afterShutdown: 'reject' }, '2026-12-03')).toEqual({
      state: 'active',
    });
  });
});
