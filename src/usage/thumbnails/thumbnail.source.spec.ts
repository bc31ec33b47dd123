import { randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestResources, runWithRequestResources } from '../../common/http/request-resources.js';
import { RawJsonScanner, RawJsonString } from '../../common/json/raw-json.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { ImagePayload } from '../../providers/image-provider.interface.js';
import { inlineSources, payloadSources } from './thumbnail.source.js';

/** Stands for an image: only its bytes matter here. */
const IMAGE = randomBytes(30_000);
const BASE64 = IMAGE.toString('base64');

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'easel-thumbnail-source-spec-')));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The image's base64 as an upstream's answer holds it: kept raw by the scanner, in a spooled file. */
async function spooledAnswer(): Promise<{ scanner: RawJsonScanner; base64: RawJsonString }> {
  const scanner = new RawJsonScanner(['b64_json'], new ByteSpool({ memoryBytes: 0, dir }));
  await scanner.write(Buffer.from(JSON.stringify({ data: [{ b64_json: BASE64 }] })));
  const { data } = (await scanner.end()) as { data: Array<{ b64_json: RawJsonString }> };
  const base64 = data[0]!.b64_json;
  expect(base64).toBeInstanceOf(RawJsonString);
  expect(base64.spooled).toBe(true);
  return { scanner, base64 };
}

describe(inlineSources.name, () => {
  it('keeps a spooled image readable while held, after the scanner that made it let go of it', async () => {
    const { scanner, base64 } = await spooledAnswer();
    const [source] = inlineSources([{ mimeType: 'image/png', base64 }]);
    const letGo = source!.hold!();

    scanner.discard();

    expect(source!.bytes().equals(IMAGE)).toBe(true);
    letGo();
    expect(() => source!.bytes()).toThrow('the spooled file is closed');
  });

  it('keeps a spooled image readable past the end of its request while held, until the last hold goes', async () => {
    const resources = new RequestResources();
    const { base64 } = await runWithRequestResources(resources, spooledAnswer);
    const [source] = inlineSources([{ mimeType: 'image/png', base64 }]);
    const first = source!.hold!();
    const second = source!.hold!();

    resources.release();

    expect(source!.bytes().equals(IMAGE)).toBe(true);
    first();
    // A hold lets go once, however often it is called.
    first();
    expect(source!.bytes().equals(IMAGE)).toBe(true);
    second();
    expect(() => source!.bytes()).toThrow('the spooled file is closed');
  });

  it('lets a spooled image go with its request when nothing holds it', async () => {
    const resources = new RequestResources();
    const { base64 } = await runWithRequestResources(resources, spooledAnswer);
    const [source] = inlineSources([{ mimeType: 'image/png', base64 }]);

    resources.release();

    expect(() => source!.bytes()).toThrow('the spooled file is closed');
  });

  it('holds a plain string harmlessly', () => {
    const [source] = inlineSources([{ mimeType: 'image/png', base64: BASE64 }]);

    const letGo = source!.hold!();
    letGo();
    letGo();

    expect(source!.bytes().equals(IMAGE)).toBe(true);
  });
});

describe(payloadSources.name, () => {
  it('keeps a spooled image readable while held, after its request ended', async () => {
    const resources = new RequestResources();
    const { base64 } = await runWithRequestResources(resources, spooledAnswer);
    const [source] = payloadSources([ImagePayload.fromBase64(base64)]);
    const letGo = source!.hold!();

    resources.release();

    expect(source!.bytes().equals(IMAGE)).toBe(true);
    letGo();
    expect(() => base64.toString()).toThrow('the spooled file is closed');
  });
});
