import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { scopeToCaller } from './usage-scope.js';

const KEY_ID = '3f1c2a9e-6b7d-4e21-9c3a-5d8e7f6a1b2c';
const OTHER_KEY_ID = '0b9a8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    keyId: KEY_ID,
    prefix: 'sk-easel-abc',
    name: 'ci',
    team: 'growth',
    isAdmin: false,
    allowedModels: null,
    expiresAt: null,
    rpm: null,
    monthlyBudget: null,
    ...overrides,
  };
}

function refusal(run: () => unknown): { code: ErrorCode; param?: string } | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return { code: error.code, param: error.param };
    throw error;
  }
  return undefined;
}

describe(scopeToCaller.name, () => {
  const sut = scopeToCaller;

  it('scope=key (the default) forces the caller’s team and key, keeping the other filters', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    expect(sut(principal(), { from, model: 'm', group_by: 'day' })).toEqual({
      from,
      model: 'm',
      group_by: 'day',
      team: 'growth',
      api_key: KEY_ID,
    });
    expect(sut(principal(), { scope: 'key', team: 'growth', api_key: KEY_ID.toUpperCase() })).toEqual({
      team: 'growth',
      api_key: KEY_ID,
    });
  });

  it('keeps split_by, endpoint and status as they are, the team and key still forced', () => {
    const query = { group_by: 'day', split_by: 'team', endpoint: 'images.edits', status: 'error' } as const;
    expect(sut(principal(), query)).toEqual({ ...query, team: 'growth', api_key: KEY_ID });
    expect(sut(principal(), { ...query, scope: 'team', split_by: 'api_key' })).toEqual({
      ...query,
      split_by: 'api_key',
      team: 'growth',
    });
  });

  it('scope=team forces the caller’s team and leaves api_key as a filter within it', () => {
    expect(sut(principal(), { scope: 'team' })).toEqual({ team: 'growth' });
    expect(sut(principal(), { scope: 'team', team: 'growth', api_key: OTHER_KEY_ID })).toEqual({
      team: 'growth',
      api_key: OTHER_KEY_ID,
    });
  });

  it.each([['design'], ['Growth'], ['growth '], [' growth'], ['']])(
    'refuses team=%j, another team than the caller’s, in either scope',
    (team) => {
      for (const scope of ['key', 'team'] as const) {
        expect(refusal(() => sut(principal(), { scope, team }))).toEqual({
          code: ErrorCode.PermissionDenied,
          param: 'team',
        });
      }
    },
  );

  it('refuses with scope=key an api_key other than the caller’s own', () => {
    expect(refusal(() => sut(principal(), { api_key: OTHER_KEY_ID }))).toEqual({
      code: ErrorCode.PermissionDenied,
      param: 'api_key',
    });
  });

  it('refuses scope=key to a principal without a key id rather than widening it to the team', () => {
    expect(refusal(() => sut(principal({ keyId: null }), {}))).toEqual({
      code: ErrorCode.PermissionDenied,
      param: 'scope',
    });
    expect(sut(principal({ keyId: null }), { scope: 'team' })).toEqual({ team: 'growth' });
  });
});
