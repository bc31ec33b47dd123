import sharp from 'sharp';
import { renderSketch, type SketchSpec, sketchSvg } from './sketch.renderer.js';

function spec(overrides: Partial<SketchSpec> = {}): SketchSpec {
  return { prompt: 'a watercolour otter', seed: 1, width: 256, height: 256, format: 'png', transparent: false, ...overrides };
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

  it('declares the requested size', () => {
    const svg = sketchSvg(spec({ width: 1536, height: 1024 }));

    expect(svg).toMatch(/^<svg [^>]*width="1536" height="1024" viewBox="0 0 1536 1024"/);
  });

  it('has no background when transparent', () => {
    expect(sketchSvg(spec({ transparent: true }))).not.toContain('linearGradient');
    expect(sketchSvg(spec({ transparent: false }))).toContain('linearGradient');
  });
});
