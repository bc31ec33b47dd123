import { lifecycleOf, lifecycleVerdict } from './model-lifecycle.gate.js';

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
      state: 'announced',
      headers: { sunset: 'Thu, 01 Jan 2099 00:00:00 GMT' },
    });
  });

  it('is retired from its shutdown day on, with what to do then and the same headers', () => {
    expect(lifecycleVerdict(lifecycle, '2099-01-01')).toEqual({
      state: 'retired',
      headers: expect.objectContaining({ sunset: 'Thu, 01 Jan 2099 00:00:00 GMT' }),
      afterShutdown: 'reject',
      successor: 'azure/openai/gpt-image-2',
    });
  });

  it('is announced, with the headers, before its deprecation day', () => {
    expect(lifecycleVerdict(lifecycle, '2025-12-31')).toEqual({
      state: 'announced',
      headers: expect.objectContaining({ deprecation: '@1767225600' }),
    });
  });

  it('leaves a model without dates alone', () => {
    expect(lifecycleVerdict(undefined, '2026-12-03')).toEqual({ state: 'active' });
    expect(lifecycleVerdict({ successor: 'x/y/z', afterShutdown: 'reject' }, '2026-12-03')).toEqual({
      state: 'active',
    });
  });
});

describe(lifecycleOf.name, () => {
  const lifecycle = {
    deprecatedOn: '2026-06-02',
    shutdownOn: '2026-12-01',
    successor: 'azure/openai/gpt-image-2',
    afterShutdown: 'reject' as const,
  };

  it.each([
    ['before the deprecation', '2026-06-01', false],
    ['on the deprecation day', '2026-06-02', true],
    ['after the shutdown', '2027-01-01', true],
  ])('%s: deprecated is %p', (_when, today, deprecated) => {
    expect(lifecycleOf(lifecycle, today)).toEqual({
      shutdown_date: '2026-12-01',
      deprecated,
      successor: 'azure/openai/gpt-image-2',
    });
  });

  it('counts a model with only a shutdown date as deprecated from that day', () => {
    expect(lifecycleOf({ shutdownOn: '2026-12-01', afterShutdown: 'reject' }, '2026-12-01').deprecated).toBe(true);
    expect(lifecycleOf({ shutdownOn: '2026-12-01', afterShutdown: 'reject' }, '2026-11-30').deprecated).toBe(false);
  });

  it('reports no lifecycle as OpenAI does: shutdown_date null', () => {
    expect(lifecycleOf(undefined, '2026-12-03')).toEqual({ shutdown_date: null, deprecated: false, successor: null });
  });
});
