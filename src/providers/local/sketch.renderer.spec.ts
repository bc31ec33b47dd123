import sharp from 'sharp';
import { renderSketch, type SketchSpec, sketchSvg } from './sketch.renderer.js';

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
