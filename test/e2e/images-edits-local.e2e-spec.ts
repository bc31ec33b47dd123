import { toFile } from 'openai';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

const MODEL = 'local/easel/sketch';

/** A PNG of one colour; `alpha` < 1 makes it a PNG with an alpha channel. */
const png = (width: number, height: number, alpha = 1) =>
  sharp({ create: { width, height, channels: 4, background: { r: 200, g: 30, b: 30, alpha } } })
    .png()
    .toBuffer();
/** A mask transparent (edit here) on its left half, opaque on its right. */
const halfMask = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } })
    .composite([
      {
        input: {
          create: { width: Math.floor(width / 2), height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
        },
        left: 0,
        top: 0,
        blend: 'dest-out',
      },
    ])
    .png()
    .toBuffer();
const pngFile = async (bytes: Buffer, name = 'a.png') => toFile(bytes, name, { type: 'image/png' });

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('POST /v1/images/edits with local/easel/sketch', () => {
  let sut: TestApp;
  let key: string;
  let keyId: string;
  let dataSource: DataSource;

  /** Posts a form built by hand (what the SDK would never send). */
  const postForm = (form: FormData, headers: Record<string, string> = {}) =>
    fetch(`${sut.baseUrl}/v1/images/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...headers },
      body: form,
    });
  const form = (
    fields: Record<string, string>,
    files: Array<[name: string, bytes: Buffer, filename: string, type?: string]>,
  ) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    for (const [name, bytes, filename, type = 'image/png'] of files)
      body.append(name, new Blob([bytes], { type }), filename);
    return body;
  };
  const expectError = async (response: Response, status: number, param: string | null, code?: string) => {
    const body = (await response.json()) as ErrorBody;
    expect({ status: response.status, param: body.error.param }).toEqual({ status, param });
    if (code) expect(body.error.code).toBe(code);
    return body.error;
  };

  beforeAll(async () => {
    sut = await createTestApp();
    ({ key, id: keyId } = await createApiKey(sut));
    dataSource = sut.app.get(DataSource);
  });

  afterAll(async () => {
    await sut.close();
  });

  describe('through the official OpenAI SDK', () => {
    it('edits one image, answering b64_json of the size asked', async () => {
      const result = await sut.openai(key).images.edit({
        model: MODEL,
        image: await pngFile(await png(300, 200)),
        prompt: 'add a hat',
        size: '512x512',
        response_format: 'b64_json',
      });

      const bytes = Buffer.from(result.data![0]!.b64_json!, 'base64');
      expect(await sharp(bytes).metadata()).toMatchObject({ format: 'png', width: 512, height: 512 });
      expect(result).toMatchObject({ size: '512x512', output_format: 'png' });
    });

    it('edits three images (image[] parts) with a mask, answering a URL by default', async () => {
      const result = await sut.openai(key).images.edit({
        model: MODEL,
        image: [await pngFile(await png(256, 256)), await pngFile(await png(64, 64)), await pngFile(await png(32, 48))],
        mask: await pngFile(await halfMask(256, 256), 'mask.png'),
        prompt: 'a blue square on the left',
        size: '256x256',
        n: 2,
      });

      expect(result.data).toHaveLength(2);
      const download = await fetch(result.data![0]!.url!);
      expect(download.status).toBe(200);
      const image = sharp(Buffer.from(await download.arrayBuffer()));
      expect(await image.metadata()).toMatchObject({ format: 'png', width: 256, height: 256 });
      // The mask kept the right half as the base image was: its colour, unchanged.
      const { data } = await image
        .clone()
        .extract({ left: 200, top: 10, width: 1, height: 1 })
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([...data.subarray(0, 3)]).toEqual([200, 30, 30]);
    });

    it('streams image_edit.partial_image events, then image_edit.completed with usage', async () => {
      const stream = await sut.openai(key).images.edit({
        model: MODEL,
        image: await pngFile(await png(128, 128)),
        prompt: 'stars',
        size: '256x256',
        stream: true,
        partial_images: 2,
      });

      const events: Array<{ type: string; b64_json: string; usage?: unknown }> = [];
      for await (const event of stream) events.push(event as (typeof events)[number]);
      expect(events.map((event) => event.type)).toEqual([
        'image_edit.partial_image',
        'image_edit.partial_image',
        'image_edit.completed',
      ]);
      expect(events[2]!.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
      const bytes = Buffer.from(events[2]!.b64_json, 'base64');
      expect(await sharp(bytes).metadata()).toMatchObject({ width: 256, height: 256 });
    });
  });

  it('takes the JSON body: images as data URLs and a mask', async () => {
    const dataUrl = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;
    const response = await sut.http('/v1/images/edits', {
      method: 'POST',
      key,
      body: {
        model: MODEL,
        prompt: 'a hat',
        images: [{ image_url: dataUrl(await png(100, 100)) }, { image_url: dataUrl(await png(10, 10)) }],
        mask: { image_url: dataUrl(await halfMask(100, 100)) },
        size: '256x256',
        response_format: 'b64_json',
      },
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Array<{ b64_json: string }> };
    expect(await sharp(Buffer.from(body.data[0]!.b64_json, 'base64')).metadata()).toMatchObject({ width: 256 });
  });

  describe('refuses, naming the field', () => {
    it('17 images: the model takes 16', async () => {
      const image = await png(8, 8);
      const error = await sut
        .openai(key)
        .images.edit({
          model: MODEL,
          prompt: 'x',
          image: await Promise.all(Array.from({ length: 17 }, () => pngFile(image))),
        })
        .catch((caught: unknown) => caught as { status: number; error: ErrorBody['error'] });

      expect(error).toMatchObject({ status: 400, error: { param: 'image[16]', type: 'invalid_request_error' } });
    });

    it('a 0-byte file, a text file named x.png, a JPEG mask, a mask of the wrong size, a PNG mask without alpha', async () => {
      const first = await png(64, 64);
      await expectError(
        await postForm(form({ model: MODEL, prompt: 'x' }, [['image', Buffer.alloc(0), 'empty.png']])),
        400,
        'image[0]',
      );
      const text = await expectError(
        await postForm(
          form({ model: MODEL, prompt: 'x' }, [
            ['image[]', first, 'a.png'],
            ['image[]', Buffer.from('hello, I am text'), 'x.png'],
          ]),
        ),
        400,
        'image[1]',
      );
      expect(text.message).toContain('not a PNG, JPEG or WebP');
      const jpeg = await sharp(first).jpeg().toBuffer();
      await expectError(
        await postForm(
          form({ model: MODEL, prompt: 'x' }, [
            ['image', first, 'a.png'],
            ['mask', jpeg, 'm.png'],
          ]),
        ),
        400,
        'mask',
      );
      const wrongSize = await expectError(
        await postForm(
          form({ model: MODEL, prompt: 'x' }, [
            ['image', first, 'a.png'],
            ['mask', await halfMask(32, 64), 'm.png'],
          ]),
        ),
        400,
        'mask',
      );
      expect(wrongSize.message).toContain('64x64');
      const opaque = await sharp(first).removeAlpha().png().toBuffer();
      await expectError(
        await postForm(
          form({ model: MODEL, prompt: 'x' }, [
            ['image', first, 'a.png'],
            ['mask', opaque, 'm.png'],
          ]),
        ),
        400,
        'mask',
      );
    });

    it('unknown fields, a repeated field, an image sent as text, no image, no prompt, file_id', async () => {
      const image = await png(8, 8);
      await expectError(
        await postForm(form({ model: MODEL, prompt: 'x', colour: 'red' }, [['image', image, 'a.png']])),
        400,
        'colour',
        'unknown_parameter',
      );
      await expectError(
        await postForm(
          form({ model: MODEL, prompt: 'x' }, [
            ['image', image, 'a.png'],
            ['picture', image, 'b.png'],
          ]),
        ),
        400,
        'picture',
        'unknown_parameter',
      );
      for (const name of ['__proto__', 'constructor', 'toString']) {
        const hostile = new FormData();
        hostile.append('model', MODEL);
        hostile.append('prompt', 'x');
        hostile.append(name, 'y');
        hostile.append('image', new Blob([image], { type: 'image/png' }), 'a.png');
        expect((await postForm(hostile)).status).toBe(400);
      }
      const repeated = new FormData();
      repeated.append('model', MODEL);
      repeated.append('prompt', 'x');
      repeated.append('prompt', 'y');
      repeated.append('image', new Blob([image], { type: 'image/png' }), 'a.png');
      await expectError(await postForm(repeated), 400, 'prompt');
      await expectError(await postForm(form({ model: MODEL, prompt: 'x', image: 'not a file' }, [])), 400, 'image');
      await expectError(await postForm(form({ model: MODEL, prompt: 'x' }, [])), 400, 'image');
      await expectError(await postForm(form({ model: MODEL }, [['image', image, 'a.png']])), 400, 'prompt');
      await expectError(
        await postForm(form({ model: MODEL, prompt: 'x', n: 'two' }, [['image', image, 'a.png']])),
        400,
        'n',
      );
      const fileId = await sut.http('/v1/images/edits', {
        method: 'POST',
        key,
        body: { model: MODEL, prompt: 'x', images: [{ file_id: 'file-123' }] },
      });
      await expectError(fileId, 400, 'images[0].file_id', 'unsupported_parameter');
      const remote = await sut.http('/v1/images/edits', {
        method: 'POST',
        key,
        body: { model: MODEL, prompt: 'x', images: [{ image_url: 'https://example.com/a.png' }] },
      });
      expect((await expectError(remote, 400, 'images[0].image_url')).message).toContain('REMOTE_IMAGE_URLS');
    });

    it('hostile values: NUL in a value or a name, numbers and booleans of the wrong shape, JSON of the wrong types', async () => {
      const image = await png(8, 8);
      const send = (fields: Record<string, string>) =>
        postForm(form({ model: MODEL, ...fields }, [['image', image, 'a.png']]));

      await expectError(await send({ prompt: 'a\u0000b' }), 400, 'prompt');
      expect((await send({ prompt: 'x', 'col\u0000our': 'red' })).status).toBe(400);
      await expectError(await send({ prompt: 'x', n: '1e3' }), 400, 'n');
      await expectError(await send({ prompt: 'x', n: '99999999999999999999' }), 400, 'n');
      await expectError(await send({ prompt: 'x', stream: 'yes' }), 400, 'stream');
      await expectError(
        await send({ prompt: 'x', output_compression: '-1', output_format: 'jpeg' }),
        400,
        'output_compression',
      );
      // Other control characters are text like any other (the local model leaves them out of its picture).
      expect(
        (await send({ prompt: 'tab\there, bell\u0007 and escape\u001b', response_format: 'b64_json' })).status,
      ).toBe(200);
      for (const [images, param] of [
        ['not a list', 'images'],
        [[123], 'images'],
        [[{ image_url: 42 }], 'images[0].image_url'],
        [[{ image_url: 'data:image/png;base64,' }], 'images[0].image_url'],
        [[], 'images'],
      ] as const) {
        const response = await sut.http('/v1/images/edits', {
          method: 'POST',
          key,
          body: { model: MODEL, prompt: 'x', images },
        });
        await expectError(response, 400, param);
      }
    });

    it('a body that is neither a form nor JSON (415), and a malformed form (400)', async () => {
      const urlEncoded = await fetch(`${sut.baseUrl}/v1/images/edits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'model=x&prompt=y',
      });
      expect((await expectError(urlEncoded, 415, null)).message).toContain('multipart/form-data');
      const malformed = await fetch(`${sut.baseUrl}/v1/images/edits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'multipart/form-data; boundary=abc' },
        body: '--abc\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhalf a form',
      });
      expect((await expectError(malformed, 400, null)).message).toContain('malformed');
    });
  });

  it('keeps a usage record per edit (images.edits, input images and bytes), reported apart by endpoint', async () => {
    const image = await png(40, 40);
    const mask = await halfMask(40, 40);
    const response = await postForm(
      form({ model: MODEL, prompt: 'usage', size: '256x256' }, [
        ['image[]', image, 'a.png'],
        ['image[]', image, 'b.png'],
        ['mask', mask, 'm.png'],
      ]),
      { 'x-request-id': 'edit-usage-1' },
    );
    expect(response.status).toBe(200);

    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'edit-usage-1'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'images.edits',
      model: MODEL,
      status: 'success',
      images: 1,
      input_images: 3,
      input_image_bytes: 2 * image.length + mask.length,
      api_key_id: keyId,
    });
    const report = (await (await sut.http('/admin/usage?group_by=endpoint', { key: sut.adminKey })).json()) as {
      rows: Array<{ group: string; requests: number }>;
    };
    expect(report.rows.find((row) => row.group === 'images.edits')?.requests).toBeGreaterThanOrEqual(1);
  });

  it('honours Idempotency-Key on a form: the same form replays, another form is a 409', async () => {
    const image = await png(16, 16);
    const send = (bytes: Buffer) =>
      postForm(form({ model: MODEL, prompt: 'once', response_format: 'b64_json' }, [['image', bytes, 'a.png']]), {
        'idempotency-key': 'edit-once',
      });

    const first = await send(image);
    const again = await send(image);
    const other = await send(await png(17, 16));

    expect([first.status, again.status, other.status]).toEqual([200, 200, 409]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
  });
});

describe('POST /v1/images/edits upload limits', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp({ env: { UPLOAD_MAX_FILE_BYTES: '100000', UPLOAD_MAX_TOTAL_BYTES: '150000' } });
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  const send = (files: Buffer[]) => {
    const body = new FormData();
    body.append('model', MODEL);
    body.append('prompt', 'x');
    for (const bytes of files) body.append('image[]', new Blob([bytes], { type: 'image/png' }), 'a.png');
    return fetch(`${sut.baseUrl}/v1/images/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body,
    });
  };

  it('answers 413 file_too_large naming the file over UPLOAD_MAX_FILE_BYTES', async () => {
    const response = await send([await png(8, 8), Buffer.alloc(100_001)]);

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'file_too_large', param: 'image[1]' } });
  });

  it('answers 413 when the files together pass UPLOAD_MAX_TOTAL_BYTES', async () => {
    const response = await send([Buffer.alloc(60_000), Buffer.alloc(60_000), Buffer.alloc(60_000)]);

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'file_too_large', param: 'image[2]' } });
  });
});
