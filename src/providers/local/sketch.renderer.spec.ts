import sharp from 'sharp';
import { editSketch, renderSketch, type SketchEditSpec, type SketchSpec, sketchSvg } from './sketch.renderer.js';

function spec(overrides: Partial<SketchSpec> = {}): SketchSpec {
  return {
    prompt: 'a watercolour otter',
    seed: 1,
    width: 256,
    height: 256,
    format: 'png',
    transparent: false,
    ...overrides,
  };
}

describe('renderSketch', () => {
  it('is deterministic: the same spec gives identical bytes', async () => {
    const [first, second] = await Promise.all([renderSketch(spec()), renderSketch(spec())]);

    expect(first.equals(second)).toBe(true);
  });

  it('gives different bytes for a different seed', async () => {
    const [one, two] = await Promise.all([renderSketch(spec({ seed: 1 })), renderSketch(spec({ seed: 2 }))]);

    expect(one.equals(two)).toBe(false);
  });

  it('gives different bytes for a different prompt', async () => {
    const [one, two] = await Promise.all([renderSketch(spec()), renderSketch(spec({ prompt: 'a heron' }))]);

    expect(one.equals(two)).toBe(false);
  });

  it.each([
    [256, 256, 'png', 'png'],
    [512, 256, 'jpeg', 'jpeg'],
    [256, 384, 'webp', 'webp'],
  ] as const)('renders exactly %ix%i as %s', async (width, height, format, sharpFormat) => {
    const bytes = await renderSketch(spec({ width, height, format }));

    const metadata = await sharp(bytes).metadata();

    expect(metadata).toMatchObject({ width, height, format: sharpFormat });
  });

  it('renders a transparent png with an alpha channel that is used', async () => {
    const bytes = await renderSketch(spec({ transparent: true }));

    expect((await sharp(bytes).metadata()).hasAlpha).toBe(true);
    expect((await sharp(bytes).stats()).isOpaque).toBe(false);
  });

  it('renders an opaque png when not transparent', async () => {
    const bytes = await renderSketch(spec({ transparent: false }));

    expect((await sharp(bytes).stats()).isOpaque).toBe(true);
  });

  it('renders a jpeg with no alpha, starting with the JPEG magic bytes', async () => {
    const bytes = await renderSketch(spec({ format: 'jpeg', transparent: true }));

    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect((await sharp(bytes).metadata()).hasAlpha).toBe(false);
  });

  it('makes smaller jpegs with more compression', async () => {
    const [light, heavy] = await Promise.all([
      renderSketch(spec({ format: 'jpeg', compression: 0 })),
      renderSketch(spec({ format: 'jpeg', compression: 90 })),
    ]);

    expect(heavy.length).toBeLessThan(light.length);
  });
});

describe('editSketch', () => {
  const prompt = 'a very long prompt whose words are written across the whole width of the picture';

  /** A 400x300 PNG: a diagonal gradient, so that every region of it is told apart. */
  function base(): Promise<Buffer> {
    return sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#123456"/><stop offset="1" stop-color="#e0b040"/></linearGradient></defs><rect width="400" height="300" fill="url(#g)"/></svg>',
      ),
    )
      .png()
      .toBuffer();
  }

  /** A 400x300 RGBA PNG whose alpha is `alpha(x)`. */
  function mask(alpha: (x: number) => number): Promise<Buffer> {
    const [width, height] = [400, 300];
    const pixels = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) pixels[(y * width + x) * 4 + 3] = alpha(x);
    }
    return sharp(pixels, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
  }

  async function editSpec(overrides: Partial<SketchEditSpec> = {}): Promise<SketchEditSpec> {
    return { ...spec({ prompt }), base: await base(), ...overrides };
  }

  /** RGB pixels, row by row. */
  async function rgb(bytes: Buffer): Promise<Buffer> {
    return sharp(bytes).removeAlpha().raw().toBuffer();
  }

  /** How many pixels of columns [from, to) differ between two 256-pixel-wide RGB images. */
  function differingPixels(one: Buffer, two: Buffer, from: number, to: number): number {
    let count = 0;
    for (let pixel = 0; pixel < one.length / 3; pixel++) {
      const x = pixel % 256;
      if (x >= from && x < to && one.subarray(pixel * 3, pixel * 3 + 3).compare(two, pixel * 3, pixel * 3 + 3) !== 0)
        count++;
    }
    return count;
  }

  async function resizedBase(): Promise<Buffer> {
    return rgb(
      await sharp(await base())
        .resize(256, 256, { fit: 'cover' })
        .png()
        .toBuffer(),
    );
  }

  it.each([
    [256, 256, 'png', 'png'],
    [512, 256, 'jpeg', 'jpeg'],
    [256, 384, 'webp', 'webp'],
  ] as const)('edits to exactly %ix%i as %s', async (width, height, format, sharpFormat) => {
    const bytes = await editSketch(
      await editSpec({ width, height, format, mask: await mask((x) => (x < 200 ? 0 : 255)) }),
    );

    expect(await sharp(bytes).metadata()).toMatchObject({ width, height, format: sharpFormat });
  });

  it('is deterministic: the same input gives identical bytes', async () => {
    const input = await editSpec({ mask: await mask((x) => (x < 150 ? 0 : 255)) });

    const [first, second] = await Promise.all([editSketch(input), editSketch(input)]);

    expect(first.equals(second)).toBe(true);
  });

  it('gives different bytes for a different seed', async () => {
    const [one, two] = await Promise.all([
      editSketch(await editSpec({ seed: 1 })),
      editSketch(await editSpec({ seed: 2 })),
    ]);

    expect(one.equals(two)).toBe(false);
  });

  it('draws over the resized base on both halves when there is no mask', async () => {
    const edited = await rgb(await editSketch(await editSpec()));
    const original = await resizedBase();

    expect(differingPixels(edited, original, 0, 128)).toBeGreaterThan(0);
    expect(differingPixels(edited, original, 128, 256)).toBeGreaterThan(0);
  });

  it('draws only where the mask is transparent and keeps the rest of the base exactly', async () => {
    // Transparent in the left 40% of the base: resized to 256 pixels, that ends at column 102, far
    // enough from the right half that the resize's soft edge does not reach it.
    const edited = await rgb(await editSketch(await editSpec({ mask: await mask((x) => (x < 160 ? 0 : 255)) })));
    const original = await resizedBase();

    expect(differingPixels(edited, original, 0, 128)).toBeGreaterThan(0);
    expect(differingPixels(edited, original, 128, 256)).toBe(0);
  });

  it('draws partially where the mask is partially transparent', async () => {
    const input = await editSpec();
    const [full, half, none] = await Promise.all([
      editSketch({ ...input, mask: await mask(() => 0) }).then(rgb),
      editSketch({ ...input, mask: await mask(() => 128) }).then(rgb),
      editSketch({ ...input, mask: await mask(() => 255) }).then(rgb),
    ]);
    const original = await resizedBase();
    const distance = (one: Buffer, two: Buffer) => one.reduce((sum, value, i) => sum + Math.abs(value - two[i]!), 0);

    expect(none.equals(original)).toBe(true);
    expect(distance(half, original)).toBeGreaterThan(0.3 * distance(full, original));
    expect(distance(half, original)).toBeLessThan(0.7 * distance(full, original));
  });

  it('keeps the transparency of a transparent base when the background is transparent', async () => {
    const clear = await sharp({ create: { width: 64, height: 64, channels: 4, background: '#00000000' } })
      .png()
      .toBuffer();

    const kept = await editSketch(await editSpec({ base: clear, transparent: true }));
    const flattened = await editSketch(await editSpec({ base: clear, transparent: false }));

    expect((await sharp(kept).stats()).isOpaque).toBe(false);
    expect((await sharp(flattened).stats()).isOpaque).toBe(true);
  });

  it('makes a jpeg, with no alpha even when the background is transparent', async () => {
    const bytes = await editSketch(await editSpec({ format: 'jpeg', transparent: true }));

    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect((await sharp(bytes).metadata()).hasAlpha).toBe(false);
  });

  it('makes smaller jpegs with more compression', async () => {
    const [light, heavy] = await Promise.all([
      editSketch(await editSpec({ format: 'jpeg', compression: 0 })),
      editSketch(await editSpec({ format: 'jpeg', compression: 90 })),
    ]);

    expect(heavy.length).toBeLessThan(light.length);
  });
});

describe('sketchSvg', () => {
  it('escapes XML special characters in the prompt', () => {
    const svg = sketchSvg(spec({ prompt: `<script>alert("x")</script> & 'more'` }));

    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(svg).toContain('&amp;');
    expect(svg).toContain('&apos;more&apos;');
  });

  it('produces an SVG that sharp can render despite special characters', async () => {
    const bytes = await renderSketch(spec({ prompt: 'Tom & Jerry <3 "quotes"' }));

    expect((await sharp(bytes).metadata()).format).toBe('png');
  });

  it.each([
    ['C0 controls and NUL', 'bell\u0007 esc\u001b[31m nul\u0000 vt\u000b ff\u000c del\u007f nel\u0085'],
    ['noncharacters', 'end\ufffe\uffff'],
    ['an unpaired surrogate', 'half \ud83d emoji'],
  ])('renders a prompt with %s, which XML 1.0 cannot hold', async (_what, prompt) => {
    const bytes = await renderSketch(spec({ prompt }));

    expect((await sharp(bytes).metadata()).format).toBe('png');
    expect(sketchSvg(spec({ prompt }))).not.toMatch(
      // eslint-disable-next-line no-control-regex -- finding control characters is what this expression is for
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/,
    );
  });

  it('keeps tabs, new lines, emoji and other text as words', () => {
    const svg = sketchSvg(spec({ prompt: 'tab\tnew\nline 😀 ünïcödé' }));

    expect(svg).toContain('tab new line 😀 ünïcödé');
  });

  it('renders a prompt whose line wrap cuts an emoji in two', async () => {
    const prompt = `${'x'.repeat(30)}${'😀'.repeat(200)}`;
    const svg = sketchSvg(spec({ prompt }));

    expect(svg.isWellFormed()).toBe(true);
    expect((await sharp(await renderSketch(spec({ prompt }))).metadata()).format).toBe('png');
  });

  it('writes the text of a prompt with control characters as that of the prompt without them', () => {
    const text = (prompt: string) => /<text[\s\S]*<\/text>/.exec(sketchSvg(spec({ prompt })))?.[0];

    expect(text('ot\u0007ter\u0000')).toBe(text('otter'));
  });

  it('declares the requested size', () => {
    const svg = sketchSvg(spec({ width: 1536, height: 1024 }));

    expect(svg).toMatch(/^<svg [^>]*width="1536" height="1024" viewBox="0 0 1536 1024"/);
  });

  it('has no background when transparent', () => {
    expect(sketchSvg(spec({ transparent: true }))).not.toContain('linearGradient');
    expect(sketchSvg(spec({ transparent: false }))).toContain('linearGradient');
  });
});
