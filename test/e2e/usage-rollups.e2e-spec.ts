import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { formatUsd, parseUsd, toNumericString } from '../../src/common/money/usd.js';
import { GROUP_BY, type GroupBy } from '../../src/usage/dto/usage-query.dto.js';
import type { UsageReportDto, UsageTotalsDto } from '../../src/usage/dto/usage-report.response.js';
import type { UsageRecordRow } from '../../src/usage/usage.recorder.js';
import type { UsageEndpoint } from '../../src/usage/usage-endpoint.js';
import { partitionName } from '../../src/usage/usage-partitions.js';
import { UsageRecordWriter } from '../../src/usage/usage-record.writer.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { chatRequest, LOCAL_MODEL } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { CONTENT_FILTER_BODIES, FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { ScriptedResponse } from '../fakes/fake-http.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The reports read whole UTC days from `usage_daily_rollups` and only the cut edges of a window
 * from `usage_records`; this spec checks that they still add up to exactly what the raw records
 * hold, after random traffic (a seeded PRNG: USAGE_ROLLUPS_SEED=<n> replays or explores), a price
 * change, and records written straight through the writer over months with and without partitions.
 */
const SEED = process.env.USAGE_ROLLUPS_SEED === undefined ? 20_261_204 : Number(process.env.USAGE_ROLLUPS_SEED);

const GPT_IMAGE_1 = 'azure/openai/gpt-image-1';
const GPT_IMAGE_15 = 'azure/openai/gpt-image-1.5';
const GPT_IMAGE_2 = 'azure/openai/gpt-image-2';
/** Models whose upstream calls this spec makes fail (gpt-image-1 is served by 1.5, whose breaker it may share). */
const FAULT_MODELS = [GPT_IMAGE_15, GPT_IMAGE_2] as const;
const AZURE_MODELS = [GPT_IMAGE_1, GPT_IMAGE_15, GPT_IMAGE_2] as const;
/** A route's breaker opens after 5 failed calls in a row: the plan never makes more than this many. */
const MAX_FAULT_STREAK = 3;
const NEW_LOCAL_PRICE = '0.013579';
const DAY_MS = 86_400_000;

/** mulberry32: small, seedable, good enough to pick traffic. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const words = (): string =>
    Array.from({ length: int(1, 40) }, () => pick(['sea', 'lighthouse', 'fox', 'at', 'dusk', 'ink', 'red'])).join(' ');
  return { next, int, pick, words, chance: (p: number) => next() < p };
}

type Sums = UsageTotalsDto;
type Report = UsageReportDto;
interface Filter {
  team?: string;
  api_key?: string;
  model?: string;
  endpoint?: UsageEndpoint;
  status?: 'success' | 'error';
}
interface Window {
  name: string;
  from?: Date;
  to?: Date;
}

/** The same sums from any source, cost in its shortest exact form (parseUsd/formatUsd: no float). */
function sums(row: object): Sums {
  const fields = row as Record<string, unknown>;
  return {
    requests: Number(fields.requests),
    errors: Number(fields.errors),
    images: Number(fields.images),
    input_tokens: Number(fields.input_tokens),
    output_tokens: Number(fields.output_tokens),
    cost_usd: formatUsd(parseUsd(String(fields.cost_usd))),
  };
}

/** What differs between two sets of sums by group (empty when they are equal). */
function differences(actual: Map<string, Sums>, expected: Map<string, Sums>): string[] {
  const found: string[] = [];
  for (const group of [...new Set([...actual.keys(), ...expected.keys()])].sort()) {
    const [a, e] = [actual.get(group), expected.get(group)];
    if (!a || !e) {
      found.push(`${group}: ${a ? 'reported but not in the records' : 'in the records but not reported'}`);
      continue;
    }
    for (const field of Object.keys(e) as Array<keyof Sums>) {
      if (a[field] !== e[field]) found.push(`${group}: ${field} ${a[field]} (report) ≠ ${e[field]} (records)`);
    }
  }
  return found;
}

/** The group keys exactly as the report names them (null ids and models read "(none)"). */
const GROUP_SQL: Record<GroupBy, string> = {
  model: `coalesce(model, '(none)')`,
  api_key: `coalesce(api_key_id::text, '(none)')`,
  team: 'team',
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  provider: `coalesce(provider, '(none)')`,
  endpoint: 'endpoint',
};
const SUMS_SQL = `count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
  coalesce(sum(images), 0) AS images, coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(cost_usd), 0)::text AS cost_usd`;
const ROLLUP_KEY = 'api_key_id, team, endpoint, model, provider, status';

const utc = (year: number, month: number, day: number, time = '00:00:00.000') =>
  new Date(`${new Date(Date.UTC(year, month, day)).toISOString().slice(0, 10)}T${time}Z`);
/** The first instant of the UTC month `offset` months from `date`'s. */
const month = (date: Date, offset = 0) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));
const dayOf = (monthStart: Date, day: number, time?: string) =>
  utc(monthStart.getUTCFullYear(), monthStart.getUTCMonth(), day, time);

describe(`Usage reports from rollups equal the raw records' sums (seed ${SEED})`, () => {
  const rng = prng(SEED);
  const now = new Date();
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let dataSource: DataSource;
  let teams: { a: string; b: string };
  let keys: Array<{ id: string; key: string; team: string }>;
  /** Records the writer stored directly, by name, for the checks that need one in particular. */
  const written = new Map<string, UsageRecordRow>();

  const query = <T = Record<string, unknown>>(sql: string, parameters: unknown[] = []) =>
    dataSource.query(sql, parameters) as Promise<T[]>;
  const countRecords = async (where = 'true') =>
    Number((await query<{ n: string }>(`SELECT count(*) AS n FROM usage_records WHERE ${where}`))[0]!.n);

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({
      apiKey: AZURE_KEY,
      deployments: ['gpt-image-1', 'gpt-image-1.5', 'gpt-image-2'],
    }).start();
    sut = await createTestApp({
      env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY, RATE_LIMIT_RPM: '100000' },
    });
    dataSource = sut.app.get(DataSource);
    teams = { a: (await createTeam(sut)).name, b: (await createTeam(sut)).name };
    keys = [];
    for (const team of [teams.a, teams.a, teams.b, teams.b]) {
      const { id, key } = await createApiKey(sut, { team });
      keys.push({ id, key, team });
    }
  });

  afterAll(async () => {
    await sut?.close();
    await azure?.stop();
  });

  describe('traffic', () => {
    interface Planned {
      requestId: string;
      kind: string;
      phase: 1 | 2;
      expected: number;
      send: () => Promise<Response>;
    }

    const headers = (requestId: string) => ({ 'x-request-id': requestId });
    const tinyPng = () =>
      sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 90, g: 20, b: 200, alpha: 1 } } })
        .png()
        .toBuffer();
    const edit = async (key: string, requestId: string, fields: Record<string, string>) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('image', new Blob([new Uint8Array(await tinyPng())], { type: 'image/png' }), 'in.png');
      return fetch(`${sut.baseUrl}/v1/images/edits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, ...headers(requestId) },
        body: form,
      });
    };
    const upstreamError = (status: number): ScriptedResponse => ({
      status,
      headers: status === 429 ? { 'retry-after': '0' } : {},
      body: { error: { code: String(status), message: 'upstream trouble' } },
    });

    /**
     * Two lanes per phase: requests that reach the fake Azure (sent one at a time, since scripted
     * answers are taken in order) and requests that never do (sent alongside). Every kind appears
     * in every phase whatever the seed; the rest is drawn at random.
     */
    function plan(phase: 1 | 2, streaks: Map<string, number>): { azureLane: Planned[]; freeLane: Planned[] } {
      let sequence = 0;
      const next = () => `rollups-${SEED}-p${phase}-${String(++sequence).padStart(3, '0')}`;
      const key = () => rng.pick(keys);
      const item = (kind: string, expected: number, send: (requestId: string) => Promise<Response>): Planned => {
        const requestId = next();
        return { requestId, kind, phase, expected, send: () => send(requestId) };
      };
      const post = (body: unknown, requestId: string, path = '/v1/images/generations') =>
        sut.http(path, { key: key().key, body, headers: headers(requestId) });
      const azureBody = (model: string) => ({
        model,
        prompt: rng.words(),
        n: rng.int(1, 3),
        size: rng.pick(['1024x1024', '1536x1024', '1024x1536']),
        quality: rng.pick(['low', 'medium', 'high']),
        response_format: 'b64_json',
      });

      const succeeded = (model: string) => streaks.set(model, 0);
      const azureOk = (model: string = rng.pick(AZURE_MODELS)) => {
        succeeded(model);
        const body = azureBody(model);
        return item('azure ok', 200, (id) => post(body, id));
      };
      const azureFault = (kind: 'azure 429 ×3' | 'azure 500 ×3'): Planned[] => {
        const model = rng.pick(FAULT_MODELS);
        const before = (streaks.get(model) ?? 0) >= MAX_FAULT_STREAK ? [azureOk(model)] : [];
        streaks.set(model, (streaks.get(model) ?? 0) + 1);
        const body = azureBody(model);
        const status = kind === 'azure 429 ×3' ? 429 : 500;
        return [
          ...before,
          item(kind, 502, (id) => {
            azure.enqueue(...Array.from({ length: 3 }, () => upstreamError(status)));
            return post(body, id);
          }),
        ];
      };
      const azureKinds: Record<string, () => Planned[]> = {
        'azure ok': () => [azureOk()],
        'azure edit': () => {
          const model = rng.pick([GPT_IMAGE_15, GPT_IMAGE_2]);
          succeeded(model);
          const fields = {
            model,
            prompt: rng.words(),
            n: String(rng.int(1, 2)),
            quality: rng.pick(['low', 'medium']),
            response_format: 'b64_json',
          };
          return [item('azure edit', 200, (id) => edit(key().key, id, fields))];
        },
        'azure 429 then ok': () => {
          const model = rng.pick(FAULT_MODELS);
          succeeded(model);
          const body = azureBody(model);
          return [
            item('azure 429 then ok', 200, (id) => {
              azure.enqueue(upstreamError(429));
              return post(body, id);
            }),
          ];
        },
        'azure 429 ×3': () => azureFault('azure 429 ×3'),
        'azure content policy': () => {
          const body = azureBody(rng.pick(AZURE_MODELS));
          return [
            item('azure content policy', 400, (id) => {
              azure.enqueue({ status: 400, body: CONTENT_FILTER_BODIES.contentFilter });
              return post(body, id);
            }),
          ];
        },
      };
      const freeKinds: Record<string, () => Planned> = {
        'local image': () => {
          const body = {
            model: LOCAL_MODEL,
            prompt: rng.words(),
            n: rng.int(1, 3),
            size: rng.pick(['256x256', '512x512']),
            quality: rng.pick(['low', 'medium', 'high']),
            response_format: 'b64_json',
          };
          return item('local image', 200, (id) => post(body, id));
        },
        'local edit': () => {
          const fields = { model: LOCAL_MODEL, prompt: rng.words(), n: String(rng.int(1, 3)), size: '256x256' };
          return item('local edit', 200, (id) => edit(key().key, id, { ...fields, response_format: 'b64_json' }));
        },
        'local chat': () => {
          const body = chatRequest({ content: rng.words() });
          return item('local chat', 200, (id) => post(body, id, '/v1/chat/completions'));
        },
        'n out of range': () => {
          const body = { model: LOCAL_MODEL, prompt: rng.words(), n: rng.int(11, 99) };
          return item('n out of range', 400, (id) => post(body, id));
        },
        'unknown field': () => {
          const body = { model: LOCAL_MODEL, prompt: rng.words(), colour: 'red' };
          return item('unknown field', 400, (id) => post(body, id));
        },
        'size the model lacks': () => {
          const body = { model: rng.pick(AZURE_MODELS), prompt: rng.words(), size: '256x256' };
          return item('size the model lacks', 400, (id) => post(body, id));
        },
        'unknown model': () => {
          const body = { model: `nope/nope/m${rng.int(1, 3)}`, prompt: rng.words() };
          return item('unknown model', 404, (id) => post(body, id));
        },
        'bad json': () => item('bad json', 400, (id) => post('{"model":', id)),
        'models list': () =>
          item('models list', 200, (id) => sut.http('/v1/models', { key: key().key, headers: headers(id) })),
      };

      // One of each kind, a slow 500 ×3 once, then random ones (mostly successes).
      const azureLane: Planned[] = [
        azureOk(GPT_IMAGE_15),
        ...Object.values(azureKinds).flatMap((make) => make()),
        ...azureFault('azure 500 ×3'),
      ];
      const azureWeights = ['azure ok', 'azure ok', 'azure ok', 'azure ok', ...Object.keys(azureKinds)];
      for (let index = 0; index < 14; index++) azureLane.push(...azureKinds[rng.pick(azureWeights)]!());
      const freeLane = Object.values(freeKinds).map((make) => make());
      const freeWeights = ['local image', 'local image', 'local image', ...Object.keys(freeKinds)];
      for (let index = 0; index < 30; index++) freeLane.push(freeKinds[rng.pick(freeWeights)]!());
      return { azureLane, freeLane };
    }

    const sent: Array<{ planned: Planned; status: number }> = [];
    const sendLane = async (lane: Planned[]) => {
      for (const planned of lane) {
        const response = await planned.send();
        await response.arrayBuffer();
        sent.push({ planned, status: response.status });
      }
    };

    it('stores one record per request of random traffic, failures included, across a price change', async () => {
      const streaks = new Map<string, number>();
      const phase1 = plan(1, streaks);
      const phase2 = plan(2, streaks);
      await Promise.all([sendLane(phase1.azureLane), sendLane(phase1.freeLane)]);

      const change = async (model: string, body: unknown) =>
        sut.http(`/admin/pricing/${encodeURIComponent(model)}`, { key: sut.adminKey, method: 'PUT', body });
      const azurePrice = await change(GPT_IMAGE_15, {
        per_million_tokens: { input_text: '4.123457', output_image: '19.876543' },
      });
      expect(azurePrice.status).toBe(200);
      expect(await azurePrice.json()).toMatchObject({ version: 2 });
      const localPrice = await change(LOCAL_MODEL, { per_image: NEW_LOCAL_PRICE });
      expect(localPrice.status).toBe(200);
      expect(await localPrice.json()).toMatchObject({ version: 2, per_image: NEW_LOCAL_PRICE });

      await Promise.all([sendLane(phase2.azureLane), sendLane(phase2.freeLane)]);
      expect(azure.unexpected).toEqual([]);

      // The wire: every request answered as its kind should be (so every path below was taken).
      const wire = (status: (entry: (typeof sent)[number]) => number) =>
        sent.map((entry) => ({ id: entry.planned.requestId, kind: entry.planned.kind, status: status(entry) }));
      expect(wire((entry) => entry.status)).toEqual(wire((entry) => entry.planned.expected));

      // The database: exactly one record per request, once the recorder has written them all.
      const ours = `request_id LIKE 'rollups-${SEED}-%'`;
      await waitFor(
        () => countRecords(ours),
        (n) => n >= sent.length,
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const records = await query<{
        request_id: string;
        status: string;
        http_status: number;
        served_model: string | null;
        endpoint: string;
        price_version: number | null;
        images: number;
        cost_usd: string;
      }>(
        `SELECT request_id, status, http_status, served_model, endpoint, price_version, images, cost_usd
           FROM usage_records WHERE ${ours} ORDER BY request_id`,
      );
      const byRequest = new Map(records.map((record) => [record.request_id, record]));
      expect(records).toHaveLength(sent.length);
      expect(byRequest.size).toBe(sent.length);
      expect(
        sent.map(({ planned }) => ({
          id: planned.requestId,
          http_status: byRequest.get(planned.requestId)?.http_status,
          status: byRequest.get(planned.requestId)?.status,
        })),
      ).toEqual(
        sent.map(({ planned, status }) => ({
          id: planned.requestId,
          http_status: status,
          status: status < 400 ? 'success' : 'error',
        })),
      );

      // The price change reached later requests only: gpt-image-1.5's version, the local per-image price.
      const phaseOf = new Map(sent.map(({ planned }) => [planned.requestId, planned.phase]));
      const served15 = records.filter((record) => record.served_model === GPT_IMAGE_15 && record.status === 'success');
      expect(new Set(served15.map((record) => `${phaseOf.get(record.request_id)}:${record.price_version}`))).toEqual(
        new Set(['1:1', '2:2']),
      );
      const localImages = records.filter(
        (record) => record.served_model === LOCAL_MODEL && record.endpoint === 'images' && record.status === 'success',
      );
      expect(localImages.length).toBeGreaterThan(0);
      for (const record of localImages) {
        const perImage = phaseOf.get(record.request_id) === 1 ? 0n : parseUsd(NEW_LOCAL_PRICE);
        expect({ id: record.request_id, cost: parseUsd(record.cost_usd) }).toEqual({
          id: record.request_id,
          cost: perImage * BigInt(record.images),
        });
      }
      expect(new Set(records.map((record) => parseUsd(record.cost_usd))).size).toBeGreaterThan(10);
    });
  });

  describe('records written straight through the writer', () => {
    const M = (offset: number) => month(now, offset);
    /** Edge instants: UTC midnights, last milliseconds of days and months, the cuts of the windows below. */
    const edges: Record<string, Date> = {
      'a year ago, mid-month': dayOf(M(-14), 9, '10:00:00.000'),
      'a year ago, last ms': new Date(M(-13).getTime() - 1),
      '13 months ago, first ms': M(-13),
      'two months ago, day 3 midnight': dayOf(M(-2), 3),
      'two months ago, day 3 noon': dayOf(M(-2), 3, '12:00:00.000'),
      'two months ago, day 3 last ms': dayOf(M(-2), 3, '23:59:59.999'),
      'two months ago, day 4 midnight': dayOf(M(-2), 4),
      'before the cut from': dayOf(M(-2), 17, '13:16:59.999'),
      'at the cut from': dayOf(M(-2), 17, '13:17:00.123'),
      'two months ago, last ms': new Date(M(-1).getTime() - 1),
      'last month, first ms': M(-1),
      'last month, day 10 02:00': dayOf(M(-1), 10, '02:00:00.000'),
      'before the cut to': dayOf(M(-1), 10, '08:41:29.876'),
      'at the cut to': dayOf(M(-1), 10, '08:41:29.877'),
      'last month, day 10 19:59:59.999': dayOf(M(-1), 10, '19:59:59.999'),
      'last month, day 10 20:00': dayOf(M(-1), 10, '20:00:00.000'),
      'last month, last ms': new Date(M(0).getTime() - 1),
      'this month, first ms': M(0),
      'today, midnight': new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS),
      // After now (another instance's clock ahead): in today's rollup, so a window ending now takes
      // it away again from the records after now (kept within today).
      'in five minutes': new Date(
        Math.min(now.getTime() + 5 * 60_000, (Math.floor(now.getTime() / DAY_MS) + 1) * DAY_MS - 1),
      ),
    };
    const slots: Array<{ name: string; at: Date; team?: string; anonymous?: boolean }> = [
      // Each edge record alone in a team of its own, so a report filtered by it says whether it was
      // counted; the first has no key, model or provider (nulls in the rollup's key).
      ...Object.entries(edges).map(([name, at], index) => ({
        name,
        at,
        team: `edge-${index}`,
        anonymous: index === 0,
      })),
      // Random instants over the fourteen months before now, one in four on a UTC midnight.
      ...Array.from({ length: 90 }, (_, index) => {
        const from = M(-14).getTime();
        let at = from + Math.floor(rng.next() * (now.getTime() - 60_000 - from));
        if (rng.chance(0.25)) at -= at % DAY_MS;
        return { name: `random ${index}`, at: new Date(at) };
      }),
    ];

    const recordAt = (at: Date, { team, anonymous = false }: { team?: string; anonymous?: boolean } = {}) => {
      const owners = [...keys, { id: null, team: teams.b }, { id: randomUUID(), team: 'default' }];
      const owner = anonymous ? { id: null, team: teams.b } : rng.pick(owners);
      const model = anonymous ? null : rng.pick([...AZURE_MODELS, LOCAL_MODEL, null]);
      const failed = model === null || rng.chance(0.25);
      const images = failed ? 0 : rng.int(1, 3);
      const tokens = model === null || model === LOCAL_MODEL || failed ? [0, 0, 0] : [rng.int(1, 500), 0, 272 * images];
      const [inputText, inputImage, outputImage] = tokens as [number, number, number];
      // Up to ~$0.5 with all twelve decimals in use.
      const cost = model === null ? 0n : BigInt(rng.int(0, 500_000)) * 1_000_000n + BigInt(rng.int(0, 999_999));
      const row: UsageRecordRow = {
        id: randomUUID(),
        createdAt: at.toISOString(),
        requestId: `writer-${SEED}-${randomUUID()}`,
        apiKeyId: owner.id,
        team: team ?? owner.team,
        endpoint: rng.pick(['images', 'images', 'images.edits', 'chat']),
        model,
        servedModel: model === GPT_IMAGE_1 ? GPT_IMAGE_15 : model,
        provider: model === null ? null : model === LOCAL_MODEL ? 'local' : 'azure-openai',
        route: model === null ? null : 'default',
        status: failed ? 'error' : 'success',
        httpStatus: model === null ? 404 : failed ? 502 : 200,
        errorCode: model === null ? 'model_not_found' : failed ? 'upstream_error' : null,
        latencyMs: rng.int(1, 5000),
        upstreamLatencyMs: model === null ? null : rng.int(1, 5000),
        images,
        inputImages: 0,
        inputImageBytes: 0,
        size: '1024x1024',
        quality: 'low',
        inputTextTokens: inputText,
        inputImageTokens: inputImage,
        cachedInputTokens: 0,
        outputTextTokens: 0,
        outputImageTokens: outputImage,
        inputTokens: inputText + inputImage,
        outputTokens: outputImage,
        costUsd: toNumericString(cost),
        priceVersion: model === null ? null : 1,
        user: null,
        promptSha256: null,
        promptLength: rng.int(1, 400),
        promptText: null,
      };
      return row;
    };

    const rollupTotals = async () =>
      (
        await query<Record<string, string>>(
          `SELECT count(*)::text AS keys, coalesce(sum(requests), 0)::text AS requests,
                  coalesce(sum(cost_usd), 0)::text AS cost
             FROM usage_daily_rollups`,
        )
      )[0];
    const attached = async (name: string) =>
      (
        await query(
          `SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'usage_records'::regclass AND c.relname = $1`,
          [name],
        )
      ).length === 1;

    it('stores each record once, making partitions for months without one; a replay adds nothing', async () => {
      const writer = sut.app.get(UsageRecordWriter);
      const rows = slots.map(({ name, at, ...owner }) => {
        const row = recordAt(at, owner);
        written.set(name, row);
        return row;
      });
      const missing = [M(-14), M(-13), M(-2)].map(partitionName);
      for (const name of missing) expect({ name, attached: await attached(name) }).toEqual({ name, attached: false });

      const before = await countRecords();
      // The first batch: months without a partition, a record twice, a record with null key and model.
      const first = [...rows.slice(0, 60), rows[0]!];
      await writer.insert(first);
      for (const name of missing) expect({ name, attached: await attached(name) }).toEqual({ name, attached: true });
      expect(await countRecords()).toBe(before + 60);

      const afterFirst = await rollupTotals();
      await writer.insert(first);
      expect(await countRecords()).toBe(before + 60);
      expect(await rollupTotals()).toEqual(afterFirst);

      // A batch half replayed: only its new records count.
      await writer.insert([...rows.slice(30)].reverse());
      expect(await countRecords()).toBe(before + rows.length);
      await writer.insert(rows);
      expect(await countRecords()).toBe(before + rows.length);
      // Writers on several connections at once onto the same days (so the same rollup rows), two of
      // them into a month without a partition, and one batch twice at the same moment (two replays
      // racing): nothing lost, nothing counted twice.
      const at = (monthStart: Date, day: number) =>
        dayOf(monthStart, day, `${String(rng.int(0, 23)).padStart(2, '0')}:30:00.000`);
      const racing = [
        ...Array.from({ length: 3 }, () => Array.from({ length: 25 }, () => recordAt(at(M(-1), rng.int(10, 11))))),
        ...Array.from({ length: 2 }, () => Array.from({ length: 10 }, () => recordAt(at(M(-15), rng.int(5, 6))))),
      ];
      expect(await attached(partitionName(M(-15)))).toBe(false);
      await Promise.all([...racing, racing[0]!, racing[3]!].map((batch) => writer.insert(batch)));
      expect(await attached(partitionName(M(-15)))).toBe(true);
      rows.push(...racing.flat());
      expect(await countRecords()).toBe(before + rows.length);

      const ids = rows.map((row) => row.id);
      expect(
        Number((await query<{ n: string }>(`SELECT count(*) AS n FROM usage_records WHERE id = ANY($1)`, [ids]))[0]!.n),
      ).toBe(rows.length);
    });
  });

  describe('reports', () => {
    /** The report's sums by group (and split) and its totals, from `/admin/usage`. */
    const report = async (
      window: Window,
      groupBy: GroupBy,
      filter: Filter & { deprecated?: 'true' | 'false' },
      splitBy?: GroupBy,
    ) => {
      const parameters = new URLSearchParams({ group_by: groupBy, ...(splitBy ? { split_by: splitBy } : {}) });
      if (window.from) parameters.set('from', window.from.toISOString());
      if (window.to) parameters.set('to', window.to.toISOString());
      for (const [name, value] of Object.entries(filter)) if (value) parameters.set(name, value);
      const path = `/admin/usage?${parameters.toString()}`;
      const response = await sut.http(path, { key: sut.adminKey });
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Report;
    };

    /** A row's place in a report: its group, and its split after a `▸` when there is one. */
    const place = (group: string, split?: string) => (split === undefined ? group : `${group} ▸ ${split}`);

    /** The same sums straight from `usage_records` over [from, to), in the order a report lists them. */
    const fromRecords = async (from: string, to: string, groupBy: GroupBy, filter: Filter, splitBy?: GroupBy) => {
      const parameters: unknown[] = [from, to];
      const conditions = ['created_at >= $1::timestamptz', 'created_at < $2::timestamptz'];
      const columns = {
        team: 'team',
        api_key: 'api_key_id',
        model: 'model',
        endpoint: 'endpoint',
        status: 'status',
      } as const;
      for (const [name, value] of Object.entries(filter) as Array<[keyof Filter, string | undefined]>) {
        if (value) conditions.push(`${columns[name]} = $${parameters.push(value)}`);
      }
      const where = conditions.join(' AND ');
      const rows = splitBy
        ? await query(
            `SELECT ${GROUP_SQL[groupBy]} AS grp, ${GROUP_SQL[splitBy]} AS split, ${SUMS_SQL}
               FROM usage_records WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
            parameters,
          )
        : await query(
            `SELECT ${GROUP_SQL[groupBy]} AS grp, ${SUMS_SQL} FROM usage_records WHERE ${where} GROUP BY 1 ORDER BY 1`,
            parameters,
          );
      const [totals] = await query(`SELECT ${SUMS_SQL} FROM usage_records WHERE ${where}`, parameters);
      return {
        rows: new Map(rows.map((row) => [place(String(row.grp), splitBy ? String(row.split) : undefined), sums(row)])),
        totals: sums(totals!),
      };
    };

    /**
     * Every difference between the report and the records' sums, labelled; empty when they agree.
     * The rows' order and shape count too: by group then split, with `split` exactly when split_by is given.
     */
    const compare = async (
      window: Window,
      groupBy: GroupBy,
      filter: Filter = {},
      splitBy?: GroupBy,
    ): Promise<string[]> => {
      const reported = await report(window, groupBy, filter, splitBy);
      const expected = await fromRecords(reported.from, reported.to, groupBy, filter, splitBy);
      const label = `[${window.name}, group_by=${groupBy}${splitBy ? `, split_by=${splitBy}` : ''}${Object.entries(
        filter,
      )
        .map(([name, value]) => `, ${name}=${value}`)
        .join('')}]`;
      const actual = new Map(reported.rows.map(({ group, split, ...rest }) => [place(group, split), sums(rest)]));
      const found = [
        ...differences(actual, expected.rows),
        ...differences(new Map([['totals', sums(reported.totals)]]), new Map([['totals', expected.totals]])),
      ];
      const order = [...actual.keys()];
      if (found.length === 0 && order.join('\n') !== [...expected.rows.keys()].join('\n')) {
        found.push(`rows out of order: ${order.join(', ')}`);
      }
      const shapes = new Set(reported.rows.map((row) => 'split' in row));
      if (shapes.has(splitBy === undefined)) found.push(`a row ${splitBy ? 'without' : 'with'} split`);
      if (reported.split_by !== splitBy) found.push(`split_by answered as ${reported.split_by}`);
      return found.map((difference) => `${label} ${difference}`);
    };

    /** Every comparison's differences, in the order given; four run at a time (a report reads one snapshot). */
    const allOf = async (comparisons: Array<() => Promise<string[]>>): Promise<string[]> => {
      const results: string[][] = [];
      let next = 0;
      const worker = async () => {
        while (next < comparisons.length) {
          const index = next++;
          results[index] = await comparisons[index]!();
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      return results.flat();
    };

    const M = (offset: number) => month(now, offset);
    const windows = (): Window[] => [
      ...[-15, -14, -13, -2, -1, 0].map((offset) => ({ name: `month ${offset}`, from: M(offset), to: M(offset + 1) })),
      { name: 'fifteen months to next month', from: M(-15), to: M(1) },
      // Cut mid-day on both sides, across a month's end: the records at the cuts are in and out.
      { name: 'cut mid-day', from: dayOf(M(-2), 17, '13:17:00.123'), to: dayOf(M(-1), 10, '08:41:29.877') },
      { name: 'inside one day', from: dayOf(M(-1), 10, '02:00:00.000'), to: dayOf(M(-1), 10, '20:00:00.000') },
      { name: 'one whole day', from: dayOf(M(-2), 3), to: dayOf(M(-2), 4) },
      {
        name: 'one day but its first and last ms',
        from: dayOf(M(-2), 3, '00:00:00.001'),
        to: dayOf(M(-2), 3, '23:59:59.999'),
      },
      { name: 'this month to now (defaults)' },
      { name: 'from a cut to now', from: dayOf(M(-1), 10, '08:41:29.877') },
      { name: 'the last 36 hours to now', from: new Date(Date.now() - 36 * 3_600_000) },
    ];
    const windowNamed = (name: string) => windows().find((window) => window.name === name)!;

    it('gives, for every group_by, window and filter, exactly the sums of the raw records', async () => {
      const filters: Filter[] = [
        {},
        { team: teams.a },
        { team: teams.b },
        { api_key: keys[0]!.id },
        { model: GPT_IMAGE_15 },
        { team: teams.a, model: LOCAL_MODEL },
        { endpoint: 'images.edits' },
        { status: 'error' },
        { team: teams.b, endpoint: 'images', status: 'success' },
      ];
      const comparisons = windows().flatMap((window) =>
        GROUP_BY.flatMap((groupBy) => filters.map((filter) => () => compare(window, groupBy, filter))),
      );
      const found = await allOf(comparisons);
      const compared = comparisons.length;
      expect({ seed: SEED, compared, differences: found }).toEqual({ seed: SEED, compared, differences: [] });
      // Every window holds records (whole days, cut edges, today's traffic), and all of them are reported.
      for (const window of windows()) {
        const { totals } = await report(window, 'model', {});
        expect({ window: window.name, empty: totals.requests === 0 }).toEqual({ window: window.name, empty: false });
      }
      const everything = await report(windowNamed('fifteen months to next month'), 'day', {});
      expect(everything.totals.requests).toBe(await countRecords());
      expect(everything.rows.length).toBeGreaterThan(30);
    });

    it('gives, with split_by, for every pair of dimensions, window and some filters, exactly the sums of the raw records by pair', async () => {
      const filters: Filter[] = [{}, { team: teams.a, status: 'error' }, { endpoint: 'images.edits' }];
      const comparisons = windows().flatMap((window) =>
        GROUP_BY.flatMap((groupBy) =>
          GROUP_BY.filter((splitBy) => splitBy !== groupBy).flatMap((splitBy) =>
            filters.map((filter) => () => compare(window, groupBy, filter, splitBy)),
          ),
        ),
      );
      const found = await allOf(comparisons);
      const compared = comparisons.length;
      expect({ seed: SEED, compared, differences: found }).toEqual({ seed: SEED, compared, differences: [] });
      // Splits hold several rows per group (else the pairs were never really checked).
      const split = await report(windowNamed('fifteen months to next month'), 'day', {}, 'model');
      expect(split.rows.length).toBeGreaterThan(new Set(split.rows.map((row) => row.group)).size);
    });

    it('splits every window exactly between deprecated=true and deprecated=false', async () => {
      const add = (a: Sums, b: Sums): Sums => ({
        requests: a.requests + b.requests,
        errors: a.errors + b.errors,
        images: a.images + b.images,
        input_tokens: a.input_tokens + b.input_tokens,
        output_tokens: a.output_tokens + b.output_tokens,
        cost_usd: formatUsd(parseUsd(a.cost_usd) + parseUsd(b.cost_usd)),
      });
      for (const window of windows()) {
        const all = await report(window, 'team', {});
        const deprecated = await report({ ...window, from: new Date(all.from), to: new Date(all.to) }, 'team', {
          deprecated: 'true',
        });
        const current = await report({ ...window, from: new Date(all.from), to: new Date(all.to) }, 'team', {
          deprecated: 'false',
        });
        expect({ window: window.name, totals: add(sums(deprecated.totals), sums(current.totals)) }).toEqual({
          window: window.name,
          totals: sums(all.totals),
        });
      }
    });

    /** Every record id `/admin/usage/records` lists for `parameters`, page by page from `cursor` on. */
    const listAll = async (parameters: Record<string, string>, cursor: string | null = null) => {
      const listed: string[] = [];
      do {
        const search = new URLSearchParams({ ...parameters, limit: parameters.limit ?? '50' });
        if (cursor) search.set('cursor', cursor);
        const response = await sut.http(`/admin/usage/records?${search.toString()}`, { key: sut.adminKey });
        if (response.status !== 200)
          throw new Error(`${search.toString()}: ${response.status} ${await response.text()}`);
        const page = (await response.json()) as { data: Array<{ id: string }>; next_cursor: string | null };
        listed.push(...page.data.map((record) => record.id));
        cursor = page.next_cursor;
      } while (cursor);
      return listed;
    };
    /** The ids of the records of [from, to) that match `where`, newest first, as the listing orders them. */
    const storedIds = async (from: Date, to: Date, where = 'true', parameters: unknown[] = []) =>
      (
        await query<{ id: string }>(
          `SELECT id FROM usage_records WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
              AND ${where} ORDER BY created_at DESC, id DESC`,
          [from.toISOString(), to.toISOString(), ...parameters],
        )
      ).map((record) => record.id);

    it('lists, page by page, exactly the raw records of a window, with or without endpoint and status', async () => {
      const filters: Array<Pick<Filter, 'endpoint' | 'status'>> = [
        {},
        { endpoint: 'images.edits' },
        { status: 'error' },
        { endpoint: 'chat', status: 'success' },
      ];
      // The cut window holds only records written straight through (a few, of any kind); the
      // others hold the traffic, which has every kind.
      for (const [name, windowFilters] of [
        ['cut mid-day', [{}]],
        ['the last 36 hours to now', filters],
        ['fifteen months to next month', filters],
      ] as const) {
        const window = windowNamed(name);
        const to = window.to ?? new Date();
        for (const filter of windowFilters) {
          const listed = await listAll({ from: window.from!.toISOString(), to: to.toISOString(), ...filter });
          const conditions = Object.keys(filter).map((column, index) => `${column} = $${index + 3}`);
          const stored = await storedIds(window.from!, to, conditions.join(' AND ') || 'true', Object.values(filter));
          expect({ name, filter, listed }).toEqual({ name, filter, listed: stored });
          expect({ name, filter, empty: listed.length === 0 }).toEqual({ name, filter, empty: false });
        }
      }
    });

    it('never widens a filter through a cursor: a cursor from a wider listing moves the position only', async () => {
      const window = windowNamed('fifteen months to next month');
      const bounds = { from: window.from!.toISOString(), to: window.to!.toISOString() };
      // A position in the unfiltered listing, among the traffic (which has every kind).
      const wide = await sut.http(
        `/admin/usage/records?${new URLSearchParams({ ...bounds, limit: '10' }).toString()}`,
        {
          key: sut.adminKey,
        },
      );
      const widePage = (await wide.json()) as { data: Array<{ id: string; created_at: string }>; next_cursor: string };
      expect(widePage.next_cursor).toEqual(expect.any(String));
      const last = widePage.data.at(-1)!;
      const filters: Array<Record<string, string>> = [
        { status: 'error' },
        { endpoint: 'images.edits' },
        { endpoint: 'chat', status: 'success' },
      ];
      for (const filter of filters) {
        const listed = await listAll({ ...bounds, ...filter }, widePage.next_cursor);
        const conditions = Object.keys(filter).map((column, index) => `${column} = $${index + 5}`);
        const stored = await storedIds(
          window.from!,
          window.to!,
          `(created_at, id) < ($3::timestamptz, $4::uuid) AND ${conditions.join(' AND ')}`,
          [last.created_at, last.id, ...Object.values(filter)],
        );
        expect({ filter, listed }).toEqual({ filter, listed: stored });
        expect({ filter, empty: listed.length === 0 }).toEqual({ filter, empty: false });
      }
    });

    it('counts a record at a cut on its side: from inclusive, to exclusive, to the millisecond', async () => {
      const cases: Array<[window: string, record: string, inside: boolean]> = [
        ['cut mid-day', 'before the cut from', false],
        ['cut mid-day', 'at the cut from', true],
        ['cut mid-day', 'before the cut to', true],
        ['cut mid-day', 'at the cut to', false],
        ['inside one day', 'last month, day 10 02:00', true],
        ['inside one day', 'last month, day 10 19:59:59.999', true],
        ['inside one day', 'last month, day 10 20:00', false],
        ['one whole day', 'two months ago, day 3 midnight', true],
        ['one whole day', 'two months ago, day 3 last ms', true],
        ['one whole day', 'two months ago, day 4 midnight', false],
        ['one day but its first and last ms', 'two months ago, day 3 midnight', false],
        ['one day but its first and last ms', 'two months ago, day 3 noon', true],
        ['one day but its first and last ms', 'two months ago, day 3 last ms', false],
        ['month -13', 'a year ago, last ms', false],
        ['month -13', '13 months ago, first ms', true],
        ['month -1', 'two months ago, last ms', false],
        ['month -1', 'last month, first ms', true],
        ['month -1', 'last month, last ms', true],
        ['month 0', 'this month, first ms', true],
      ];
      for (const [windowName, name, inside] of cases) {
        // Each edge record is the only one of its team: the team's count is whether it was counted.
        const record = written.get(name)!;
        const { totals } = await report(windowNamed(windowName), 'day', { team: record.team });
        expect({ windowName, name, requests: totals.requests, cost: totals.cost_usd }).toEqual({
          windowName,
          name,
          requests: inside ? 1 : 0,
          cost: inside ? formatUsd(parseUsd(record.costUsd)) : '0',
        });
      }
    });

    it('keeps usage_daily_rollups equal to usage_records per day and key, and over all days', async () => {
      const byDay = async (day: boolean) => {
        const dayColumn = day ? `to_char(day, 'YYYY-MM-DD')` : `'all'`;
        const recordDay = day ? `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')` : `'all'`;
        const label = (row: Record<string, unknown>) =>
          [row.d, row.api_key_id, row.team, row.endpoint, row.model, row.provider, row.status].map(String).join(' | ');
        const rollups = await query(
          `SELECT ${dayColumn} AS d, ${ROLLUP_KEY}, sum(requests) AS requests,
                  sum(requests) FILTER (WHERE status = 'error') AS errors, sum(images) AS images,
                  sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                  sum(cost_usd)::text AS cost_usd
             FROM usage_daily_rollups GROUP BY 1, ${ROLLUP_KEY}`,
        );
        const records = await query(
          `SELECT ${recordDay} AS d, ${ROLLUP_KEY}, ${SUMS_SQL} FROM usage_records GROUP BY 1, ${ROLLUP_KEY}`,
        );
        return differences(
          new Map(rollups.map((row) => [label(row), sums({ ...row, errors: row.errors ?? 0 })])),
          new Map(records.map((row) => [label(row), sums(row)])),
        );
      };
      expect(await byDay(true)).toEqual([]);
      expect(await byDay(false)).toEqual([]);
      // One rollup row per day and key (null ids, models and providers included), never two.
      const duplicated = await query(
        `SELECT day, ${ROLLUP_KEY} FROM usage_daily_rollups GROUP BY day, ${ROLLUP_KEY} HAVING count(*) > 1`,
      );
      expect(duplicated).toEqual([]);
      const anonymous = written.get('a year ago, mid-month')!;
      expect(
        await query(
          `SELECT requests::int FROM usage_daily_rollups WHERE day = $1::date AND team = $2 AND api_key_id IS NULL
              AND model IS NULL AND provider IS NULL`,
          [anonymous.createdAt.slice(0, 10), anonymous.team],
        ),
      ).toEqual([{ requests: 1 }]);
    });

    // Last: it leaves the records and the rollups disagreeing on purpose.
    it('the comparison reports a difference when a raw record is changed or missing', async () => {
      const wholeDay = windowNamed('one whole day');
      expect(await compare(wholeDay, 'endpoint')).toEqual([]);

      // One picodollar more on one record: caught, in its group and in the totals.
      const changed = written.get('two months ago, day 3 last ms')!;
      await query(`UPDATE usage_records SET cost_usd = cost_usd + 0.000000000001 WHERE id = $1`, [changed.id]);
      const costDifferences = await compare(wholeDay, 'endpoint');
      expect(costDifferences).toHaveLength(2);
      expect(costDifferences[0]).toContain(`${changed.endpoint}: cost_usd`);
      expect(costDifferences[1]).toContain('totals: cost_usd');
      // And in its pair, with split_by.
      const pairDifferences = await compare(wholeDay, 'endpoint', {}, 'team');
      expect(pairDifferences).toHaveLength(2);
      expect(pairDifferences[0]).toContain(`${changed.endpoint} ▸ ${changed.team}: cost_usd`);

      // A record gone from usage_records while its day's rollup still counts it.
      const deleted = written.get('two months ago, day 3 midnight')!;
      const inDay = await countRecords(
        `created_at >= '${wholeDay.from!.toISOString()}' AND created_at < '${wholeDay.to!.toISOString()}'`,
      );
      await query(`DELETE FROM usage_records WHERE id = $1`, [deleted.id]);
      const missing = (await compare(wholeDay, 'team')).join('\n');
      expect(missing).toContain(`${deleted.team}: reported but not in the records`);
      expect(missing).toContain(`totals: requests ${inDay} (report) ≠ ${inDay - 1} (records)`);
    });
  });
});
