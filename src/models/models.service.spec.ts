import { lifecycleOf } from './models.service.js';

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
