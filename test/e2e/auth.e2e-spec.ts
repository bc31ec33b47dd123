import { jest } from '@jest/globals';
import { AdminKeyBanner } from '../../src/auth/admin-key.banner.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const LOCAL = imageRequest({ prompt: 'auth check' });

describe('API keys and the admin API', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });

  afterAll(async () => {
    await sut.close();
  });

  it('creates a key whose secret is shown once and never listed', async () => {
    await createTeam(sut, { name: 'growth' });
    const created = await sut.http('/admin/keys', {
      key: sut.adminKey,
      body: { name: 'banner-service', team: 'growth', allowed_models: ['local/easel/sketch'] },
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key: expect.stringMatching(/^sk-easel-[A-Za-z0-9]{43}$/),
      name: 'banner-service',
      team: 'growth',
      admin: false,
      allowed_models: ['local/easel/sketch'],
      revoked_at: null,
    });
    expect(body.prefix).toBe((body.key as string).slice(0, 17));

    const list = await (await sut.http('/admin/keys', { key: sut.adminKey })).text();
    expect(list).toContain(body.id as string);
    expect(list).not.toContain(body.key as string);
    const one = (await (await sut.http(`/admin/keys/${body.id as string}`, { key: sut.adminKey })).json()) as Record<
      string,
      unknown
    >;
    expect(one).not.toHaveProperty('key');
    expect(one.name).toBe('banner-service');
  });

  it('stores only a hash of the key', async () => {
    const { id, key } = await createApiKey(sut);
    const { DataSource } = await import('typeorm');
    const dataSource = sut.app.get(DataSource);
    const [row] = (await dataSource.query('SELECT * FROM api_keys WHERE id = $1', [id])) as Array<
      Record<string, unknown>
    >;
    expect(JSON.stringify(row)).not.toContain(key.slice(9));
    expect(row!.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers 401 invalid_api_key for a missing, malformed or unknown key', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer sk-easel-unknown' }] as Array<
      Record<string, string>
    >) {
      const response = await sut.http('/v1/images/generations', { body: LOCAL, headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'invalid_api_key' },
      });
    }
  });

  it('never echoes a wrong key in the error', async () => {
    const wrong = 'sk-easel-ThisIsAWrongKeyThatMustNotBeEchoed0000000';
    const response = await sut.http('/v1/models', { key: wrong });
    expect(await response.text()).not.toContain('ThisIsAWrongKey');
  });

  it('refuses a revoked key at once, and revoking is idempotent', async () => {
    const { id, key } = await createApiKey(sut);
    expect((await sut.http('/v1/images/generations', { key, body: LOCAL })).status).toBe(200);

    const revoked = await sut.http(`/admin/keys/${id}`, { key: sut.adminKey, method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: string }).revoked_at).toEqual(expect.any(String));
    expect((await sut.http(`/admin/keys/${id}`, { key: sut.adminKey, method: 'DELETE' })).status).toBe(200);

    const refused = await sut.http('/v1/images/generations', { key, body: LOCAL });
    expect(refused.status).toBe(401);
  });

  it('refuses an expired key', async () => {
    const { key } = await createApiKey(sut, { expires_at: new Date(Date.now() - 1000).toISOString() });
    const response = await sut.http('/v1/models', { key });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
  });

  it('keeps admin keys and API keys apart (403 permission_error)', async () => {
    const { key } = await createApiKey(sut);
    const asUser = await sut.http('/admin/keys', { key });
    expect(asUser.status).toBe(403);
    expect(await asUser.json()).toMatchObject({ error: { type: 'permission_error' } });

    const asAdmin = await sut.http('/v1/images/generations', { key: sut.adminKey, body: LOCAL });
    expect(asAdmin.status).toBe(403);
  });

  it('limits a key to its allowed_models, in /v1/models and on requests', async () => {
    const { key } = await createApiKey(sut, { allowed_models: ['azure/openai/gpt-image-1.5'] });

    const models = (await (await sut.http('/v1/models', { key })).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((model) => model.id)).toEqual(['azure/openai/gpt-image-1.5']);

    const response = await sut.http('/v1/images/generations', { key, body: LOCAL });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { type: 'permission_error', param: 'model' } });
  });

  it('retrieves one model by its URL-encoded id, as the SDK sends it', async () => {
    const { key } = await createApiKey(sut);
    const model = await sut.openai(key).models.retrieve('local/easel/sketch');
    expect(model).toMatchObject({
      id: 'local/easel/sketch',
      object: 'model',
      available: true,
      // OpenAI's lifecycle field, null without a date in the catalogue.
      shutdown_date: null,
      deprecated: false,
      successor: null,
    });
  });

  it('validates admin input: 400 with param, 404 for an unknown id, 400 for a malformed id', async () => {
    const missingTeam = await sut.http('/admin/keys', { key: sut.adminKey, body: { name: 'x' } });
    expect(missingTeam.status).toBe(400);
    expect(await missingTeam.json()).toMatchObject({ error: { param: 'team' } });

    const unknownTeam = await sut.http('/admin/keys', { key: sut.adminKey, body: { name: 'x', team: 'nobody' } });
    expect(unknownTeam.status).toBe(400);
    expect(await unknownTeam.json()).toMatchObject({
      error: { param: 'team', message: expect.stringContaining('POST /admin/teams') },
    });

    const badDate = await sut.http('/admin/keys', {
      key: sut.adminKey,
      body: { name: 'x', team: 't', expires_at: 'soon' },
    });
    expect(await badDate.json()).toMatchObject({ error: { param: 'expires_at' } });

    expect((await sut.http('/admin/keys/00000000-0000-4000-8000-000000000000', { key: sut.adminKey })).status).toBe(
      404,
    );
    expect((await sut.http('/admin/keys/not-a-uuid', { key: sut.adminKey })).status).toBe(400);
  });
});

describe('Admin key bootstrap', () => {
  const KEY = /sk-easel-[A-Za-z0-9]{43}/g;

  it('prints a new admin key once, as a plain block with a curl line that works, never in a JSON log line', async () => {
    const blocks: string[] = [];
    const banner = jest
      .spyOn(AdminKeyBanner.prototype, 'print')
      .mockImplementation((block: string) => void blocks.push(block));
    const lines: string[] = [];
    const first = await createTestApp({ env: { ADMIN_API_KEY: undefined, LOG_LEVEL: 'info' }, logs: lines });
    let adminKey: string;
    try {
      expect(blocks).toHaveLength(1);
      const block = blocks[0]!;
      const keys = [...new Set(block.match(KEY))];
      expect(keys).toHaveLength(1);
      adminKey = keys[0]!;
      // The key on a line of its own, and no JSON or escaped quotes to pick it out of.
      expect(block.split('\n')).toContain(adminKey);
      expect(block).not.toContain('\\"');
      expect(lines.join('\n')).not.toMatch(KEY);
      expect(lines.join('\n')).toContain(adminKey.slice(0, 17));

      const curl = block.split('\n').find((line) => line.startsWith('curl '));
      expect(curl).toBeDefined();
      const created = await runCurl(curl!);
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({
        name: 'my-app',
        team: 'default',
        key: expect.stringMatching(/^sk-easel-/),
      });
    } finally {
      await first.close({ keep: true });
    }

    const second = await createTestApp({
      env: { ADMIN_API_KEY: undefined, LOG_LEVEL: 'info' },
      logs: lines,
      database: first.database,
      dataDir: first.dataDir,
    });
    try {
      expect(blocks).toHaveLength(1);
      expect(lines.join('\n')).not.toMatch(KEY);
      expect((await second.http('/admin/keys', { key: adminKey })).status).toBe(200);
    } finally {
      banner.mockRestore();
      await second.close();
    }
  });
});

/** Runs a printed `curl -s URL -H "…" -d '…'` line as `fetch` (the shell's quoting, nothing else). */
function runCurl(line: string): Promise<Response> {
  const words = [...line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)].map(
    (m) => m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!,
  );
  expect(words.shift()).toBe('curl');
  const headers: Record<string, string> = {};
  let url: string | undefined;
  let body: string | undefined;
  while (words.length > 0) {
    const word = words.shift()!;
    if (word === '-s') continue;
    if (word === '-H') {
      const [name, ...value] = words.shift()!.split(':');
      headers[name!.trim().toLowerCase()] = value.join(':').trim();
    } else if (word === '-d') body = words.shift();
    else if (!word.startsWith('-') && url === undefined) url = word;
    else throw new Error(`runCurl does not know ${word}`);
  }
  return fetch(url!, { method: body === undefined ? 'GET' : 'POST', headers, body });
}
