import { DataSource } from 'typeorm';
import { chatRequest } from '../factories/request-body.factory.js';
import type { FakeVertexServer } from '../fakes/fake-vertex.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithVertex, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GA = 'vertex/google/gemini-2.5-flash-image';
const MAX_RESPONSE_BYTES = 65_536;
/** 200 chunks of about 4 KB, one every 5 ms: about 800 KB over a second, far past the cap. */
const CHUNKS = 200;
const CHUNK_CHARS = 4_000;

describe('MAX_RESPONSE_BYTES on upstream event streams (Vertex streamGenerateContent)', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(
    () => startWithVertex({ MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES) }),
    (app) => ({ fake: vertex, sut, key } = app),
  );

  const streamChat = (requestId: string) =>
    fetch(`${sut.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(chatRequest({ model: GA, stream: true, content: 'draw' })),
    });

  const usageOf = (requestId: string) =>
    waitFor<Array<Record<string, unknown>>>(
      () =>
        sut.app
          .get(DataSource)
          .query(`SELECT status, http_status, error_code FROM usage_records WHERE request_id = $1`, [requestId]),
      (rows) => rows.length === 1,
    );

  it('answers 502 naming MAX_RESPONSE_BYTES for an SSE line that never ends, and closes the upstream connection', async () => {
    const abortedBefore = vertex.abortedResponses;
    // One `data:` line that grows chunk after chunk and never reaches a line end.
    vertex.enqueue({
      status: 200,
      stream: {
        events: [
          'data: {"candidates":[{"content":{"parts":[{"text":"',
          ...Array<string>(CHUNKS).fill('A'.repeat(CHUNK_CHARS)),
        ],
        intervalMs: 5,
      },
    });

    const response = await streamChat('endless-line');

    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
    expect(body.error.message).toContain(`MAX_RESPONSE_BYTES (${MAX_RESPONSE_BYTES} bytes)`);
    await waitFor(
      async () => vertex.abortedResponses,
      (count) => count === abortedBefore + 1,
      5_000,
    );
    expect(vertex.generationRequests).toHaveLength(1);
    expect(await usageOf('endless-line')).toEqual([
      { status: 'error', http_status: 502, error_code: 'upstream_error' },
    ]);
  });

  it('ends a stream already under way with an error event once the upstream has sent more than MAX_RESPONSE_BYTES, and closes the upstream connection', async () => {
    const abortedBefore = vertex.abortedResponses;
    const chunk = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'T'.repeat(CHUNK_CHARS) }] }, index: 0 }],
    };
    vertex.enqueueStream(Array<object>(CHUNKS).fill(chunk), { intervalMs: 5 });

    const response = await streamChat('long-stream');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text()).split('\n\n').filter(Boolean);
    const text = events
      .slice(0, -1)
      .map((event) => JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }> });
    const received = text.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('').length;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    const last = JSON.parse(events.at(-1)!.slice('data: '.length)) as { error: { code: string; message: string } };
    expect(last.error.code).toBe('upstream_error');
    expect(last.error.message).toContain('MAX_RESPONSE_BYTES');
    await waitFor(
      async () => vertex.abortedResponses,
      (count) => count === abortedBefore + 1,
      5_000,
    );
    expect(await usageOf('long-stream')).toEqual([{ status: 'error', http_status: 200, error_code: 'upstream_error' }]);
  });

  it('streams an answer under the cap as before', async () => {
    const response = await streamChat('short-stream');

    expect(response.status).toBe(200);
    expect(await response.text()).toContain('data: [DONE]');
  });
});
