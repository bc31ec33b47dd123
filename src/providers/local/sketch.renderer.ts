import { createHash } from 'node:crypto';
import type { Sharp } from 'sharp';
import type { ImageFormat } from '../image-provider.interface.js';

/** sharp (libvips, some 30 MB resident) is loaded when the local model first renders, not at boot. */
let sharpModule: Promise<typeof import('sharp')> | undefined;
const loadSharp = async () => (await (sharpModule ??= import('sharp'))).default;

export interface SketchSpec {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  format: ImageFormat;
  transparent: boolean;
  /** 0..100, more = smaller file (OpenAI's meaning); jpeg and webp only. */
  compression?: number;
}

/**
 * Renders a deterministic picture for a prompt: a gradient and shapes whose colours and places
 * derive from SHA-256(prompt, seed), with the prompt written across it. Same input, same bytes.
 */
export async function renderSketch(spec: SketchSpec): Promise<Buffer> {
  const sharp = await loadSharp();
  return encode(sharp(Buffer.from(sketchSvg(spec)), { density: 72 }), spec);
}

export interface SketchEditSpec extends SketchSpec {
  /** The image to edit: PNG, JPEG or WebP bytes, of any size. */
  base: Buffer;
  /** A PNG the size of `base` whose alpha marks what may change: 0 = edit here (OpenAI's meaning). */
  mask?: Buffer;
}

/**
 * Edits an image deterministically: the base, resized to cover the requested size, with the
 * sketch's shapes and text (renderSketch's pattern without its background) drawn over it. A mask
 * confines the drawing to its transparent pixels, partially where they are partially transparent;
 * it is resized exactly like the base, so it stays registered with it. Same input, same bytes.
 */
export async function editSketch(spec: SketchEditSpec): Promise<Buffer> {
  const sharp = await loadSharp();
  const { width, height } = spec;
  const overlay = sharp(Buffer.from(sketchSvg({ ...spec, transparent: true })), { density: 72 });
  if (spec.mask) {
    // sRGB + alpha whatever the PNG held (grey, palette, 16 bits), so the raw layout is known.
    const mask = await sharp(spec.mask)
      .resize(width, height, { fit: 'cover' })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer();
    // dest-out keeps the overlay times (1 - the mask's alpha): the inverted alpha, as a cut-out.
    overlay.composite([{ input: mask, raw: { width, height, channels: 4 }, blend: 'dest-out' }]);
  }
  const drawn = await overlay.raw().toBuffer();
  const edited = await sharp(spec.base)
    .resize(width, height, { fit: 'cover' })
    .composite([{ input: drawn, raw: { width, height, channels: 4 } }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Not `raw: edited.info`: it says `premultiplied` of pixels sharp has already unpremultiplied.
  const image = sharp(edited.data, { raw: { width, height, channels: edited.info.channels } });
  return encode(spec.transparent ? image : image.flatten({ background: '#ffffff' }), spec);
}

/** The output encoding both share: `compression` is 0..100, more = smaller (OpenAI's meaning). */
function encode(image: Sharp, { format, compression }: Pick<SketchSpec, 'format' | 'compression'>): Promise<Buffer> {
  const quality = compression === undefined ? 85 : Math.max(1, 100 - compression);
  switch (format) {
    case 'png':
      return image.png({ compressionLevel: 6 }).toBuffer();
    case 'jpeg':
      return image.flatten({ background: '#ffffff' }).jpeg({ quality }).toBuffer();
    case 'webp':
      return image.webp({ quality, alphaQuality: 100 }).toBuffer();
  }
}

/** The image blurred (the local model's partial frames), in the same format. */
export async function blurImage(bytes: Buffer, sigma: number, format: ImageFormat): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(bytes).blur(sigma).toFormat(format).toBuffer();
}

export function sketchSvg(spec: SketchSpec): string {
  const { width: w, height: h } = spec;
  const bytes = createHash('sha256').update(`${spec.seed}\u0000${spec.prompt}`).digest();
  const hue = (i: number) => Math.round((bytes[i]! / 255) * 360);
  const frac = (i: number) => bytes[i]! / 255;
  const shapes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const base = 4 + i * 4;
    const cx = Math.round(frac(base) * w);
    const cy = Math.round(frac(base + 1) * h);
    const r = Math.round((0.08 + frac(base + 2) * 0.22) * Math.min(w, h));
    const fill = `hsl(${hue(base + 3)},70%,55%)`;
    shapes.push(
      i % 2 === 0
        ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}" fill-opacity="0.75"/>`
        : `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" rx="${Math.round(r / 4)}" fill="${fill}" fill-opacity="0.6" transform="rotate(${hue(base)} ${cx} ${cy})"/>`,
    );
  }
  const fontSize = Math.max(12, Math.round(Math.min(w, h) / 22));
  const lines = wrap(spec.prompt, Math.max(10, Math.floor((w * 0.9) / (fontSize * 0.55))), 4);
  const text = lines
    .map(
      (line, i) =>
        `<tspan x="${Math.round(w / 2)}" dy="${i === 0 ? 0 : Math.round(fontSize * 1.25)}">${escapeXml(xmlText(line))}</tspan>`,
    )
    .join('');
  const background = spec.transparent
    ? ''
    : `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue(0)},60%,88%)"/><stop offset="1" stop-color="hsl(${hue(1)},60%,62%)"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)"/>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    background,
    ...shapes,
    `<text y="${Math.round(h * 0.82)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${fontSize}" text-anchor="middle" fill="#1b1b1b" stroke="#ffffff" stroke-width="${Math.max(1, Math.round(fontSize / 10))}" paint-order="stroke">${text}</text>`,
    '</svg>',
  ].join('');
}

function wrap(prompt: string, width: number, maxLines: number): string[] {
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length > width && line) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
    if (lines.length === maxLines) break;
  }
  if (lines.length < maxLines && line) lines.push(line);
  const clipped = lines.slice(0, maxLines).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  if (lines.length === maxLines && words.join(' ').length > clipped.join(' ').length) {
    clipped[maxLines - 1] = `${clipped[maxLines - 1]!.slice(0, width - 1)}…`;
  }
  return clipped;
}

/**
 * What XML 1.0 cannot hold (C0 controls but tab, LF and CR; U+FFFE, U+FFFF; unpaired surrogates,
 * which the line wrap may also leave when it cuts an emoji in two) and C1 controls are dropped:
 * libxml2 refuses the whole SVG otherwise. Only the picture's text changes, not its pattern.
 */
const NOT_XML_TEXT =
  // eslint-disable-next-line no-control-regex -- finding control characters is what this expression is for
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function xmlText(value: string): string {
  return value.replace(NOT_XML_TEXT, '');
}

function escapeXml(value: string): string {
  return value.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
