/**
 * Reads what the edits endpoint needs to know about an upload — its real type, pixel size and
 * whether it can carry transparency — from the first bytes of the file. Declared content types and
 * file names are whatever the client says, so only the bytes count; and nothing is decoded, because
 * uploads run to 25 MB and decoding them on the request path would cost far more CPU and memory
 * than the few header bytes that answer these questions.
 *
 * Every read is checked against the buffer first: this runs on untrusted input and must never
 * throw or loop, whatever the bytes.
 */

export type InspectedFormat = 'png' | 'jpeg' | 'webp';

export interface InspectedImage {
  format: InspectedFormat;
  mimeType: 'image/png' | 'image/jpeg' | 'image/webp';
  width: number;
  height: number;
  /** PNG: colour type 4 or 6, or a tRNS chunk before IDAT; WebP: VP8X alpha flag or VP8L alpha bit; JPEG: never. */
  hasAlpha: boolean;
}

/** Type, pixel size and alpha from the header alone; undefined when the bytes are not a PNG, JPEG or WebP whose header can be read (wrong signature, cut short, zero or absurd dimensions, malformed structure). Never throws, whatever the bytes. */
export function inspectImage(bytes: Buffer): InspectedImage | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return inspectPng(bytes);
  if (startsWith(bytes, JPEG_SOI)) return inspectJpeg(bytes);
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return inspectWebp(bytes);
  return undefined;
}

/**
 * A picture with more pixels than this is not an upload anyone means; it also keeps
 * width × height exact in a double. PNG allows 2^31 - 1 per side, so its product needs the cap.
 */
const MAX_PIXELS = 2 ** 32;
/** The WebP container's own limit on canvas width × height. */
const MAX_WEBP_CANVAS_PIXELS = 2 ** 32 - 1;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SOI = Buffer.from([0xff, 0xd8]);
const RIFF = Buffer.from('RIFF', 'latin1');
const WEBP = Buffer.from('WEBP', 'latin1');

// --- PNG (ISO/IEC 15948, W3C PNG 3rd edition) ---

const PNG_MAX_SIDE = 2 ** 31 - 1;
/** Length, type and CRC around every chunk's data. */
const PNG_CHUNK_OVERHEAD = 12;
/** Where the chunk after IHDR starts: signature, then IHDR's 8-byte header, 13 data bytes and CRC. */
const PNG_AFTER_IHDR = 8 + PNG_CHUNK_OVERHEAD + 13;
/**
 * Real encoders write a handful of ancillary chunks before the image data. Over a thousand are a
 * crafted file, which is refused rather than walked through to the end of a 25 MB buffer.
 */
const PNG_MAX_CHUNKS_BEFORE_IDAT = 1024;
/** Bit depths each colour type allows; the colour types not listed do not exist. */
const PNG_BIT_DEPTHS: ReadonlyMap<number, readonly number[]> = new Map([
  [0, [1, 2, 4, 8, 16]], // greyscale
  [2, [8, 16]], // truecolour
  [3, [1, 2, 4, 8]], // indexed
  [4, [8, 16]], // greyscale with alpha
  [6, [8, 16]], // truecolour with alpha
]);

function inspectPng(bytes: Buffer): InspectedImage | undefined {
  if (bytes.length < PNG_AFTER_IHDR) return undefined;
  if (bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24];
  const colourType = bytes[25];
  const [compression, filter, interlace] = [bytes[26], bytes[27], bytes[28]];
  if (!PNG_BIT_DEPTHS.get(colourType)?.includes(bitDepth)) return undefined;
  if (compression !== 0 || filter !== 0 || interlace > 1) return undefined;
  if (!validSize(width, height, PNG_MAX_SIDE, MAX_PIXELS)) return undefined;
  const hasAlpha = colourType === 4 || colourType === 6 || pngHasTrns(bytes);
  if (hasAlpha === undefined) return undefined;
  return { format: 'png', mimeType: 'image/png', width, height, hasAlpha };
}

/**
 * Whether a tRNS chunk (a transparent colour or palette alphas) comes before the image data, where
 * the format requires it. Stops at IDAT, IEND or the end of the buffer; undefined for a file that
 * piles up more chunks before IDAT than any encoder writes.
 */
function pngHasTrns(bytes: Buffer): boolean | undefined {
  let offset = PNG_AFTER_IHDR;
  for (let chunks = 0; chunks < PNG_MAX_CHUNKS_BEFORE_IDAT; chunks++) {
    if (offset + PNG_CHUNK_OVERHEAD > bytes.length) return false;
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + PNG_CHUNK_OVERHEAD + length;
    if (type === 'IDAT' || type === 'IEND' || end > bytes.length) return false;
    if (type === 'tRNS') return true;
    offset = end;
  }
  return undefined;
}

// --- JPEG (ITU-T T.81 annex B) ---

/** Start-of-frame markers, the ones that carry the size: every C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const JPEG_SOS = 0xda;
const JPEG_EOI = 0xd9;
/** TEM, RST0–7 and SOI stand alone: no length follows them. */
const isStandaloneMarker = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xd8;
/**
 * Cameras write a dozen segments before the frame header (APPn, DQT, DHT); thousands are a crafted
 * file, refused rather than walked to the end of the buffer.
 */
const JPEG_MAX_MARKERS_BEFORE_SOF = 4096;

function inspectJpeg(bytes: Buffer): InspectedImage | undefined {
  let offset = JPEG_SOI.length;
  for (let markers = 0; markers < JPEG_MAX_MARKERS_BEFORE_SOF; markers++) {
    if (bytes[offset] !== 0xff) return undefined;
    while (bytes[offset] === 0xff) offset++; // a marker may be preceded by any number of fill bytes
    if (offset >= bytes.length) return undefined;
    const marker = bytes[offset++];
    if (isStandaloneMarker(marker)) continue;
    // 0x00 is a stuffed byte inside entropy-coded data; SOS or EOI before a frame header means none comes.
    if (marker === 0x00 || marker === JPEG_SOS || marker === JPEG_EOI) return undefined;
    if (offset + 2 > bytes.length) return undefined;
    const length = bytes.readUInt16BE(offset); // counts itself, not the marker
    if (length < 2 || offset + length > bytes.length) return undefined;
    if (JPEG_SOF.has(marker)) return jpegFrame(bytes, offset, length);
    offset += length;
  }
  return undefined;
}

/** Reads a frame header: length, precision, height, width, component count, then 3 bytes per component. */
function jpegFrame(bytes: Buffer, offset: number, length: number): InspectedImage | undefined {
  if (length < 8) return undefined;
  const height = bytes.readUInt16BE(offset + 3);
  const width = bytes.readUInt16BE(offset + 5);
  const components = bytes[offset + 7];
  if (components === 0 || length !== 8 + 3 * components) return undefined;
  // A height of 0 defers the real one to a DNL marker after the first scan: not readable from the header.
  if (!validSize(width, height, 0xffff, MAX_PIXELS)) return undefined;
  return { format: 'jpeg', mimeType: 'image/jpeg', width, height, hasAlpha: false };
}

// --- WebP (RFC 9649) ---

/** "RIFF", file size, "WEBP", then the first chunk's FourCC and size; its payload starts here. */
const WEBP_PAYLOAD = 20;
const VP8_FRAME_HEADER_SIZE = 10;
const VP8_START_CODE = Buffer.from([0x9d, 0x01, 0x2a]);
const VP8L_HEADER_SIZE = 5;
const VP8L_SIGNATURE = 0x2f;
const VP8X_CHUNK_SIZE = 10;
const VP8X_ALPHA_FLAG = 0x10;
const VP8X_MAX_SIDE = 2 ** 24;

function inspectWebp(bytes: Buffer): InspectedImage | undefined {
  if (bytes.length < WEBP_PAYLOAD) return undefined;
  const riffSize = bytes.readUInt32LE(4); // counts from "WEBP" on
  const fourCc = bytes.toString('latin1', 12, 16);
  const chunkSize = bytes.readUInt32LE(16);
  const payload = bytes.subarray(WEBP_PAYLOAD, WEBP_PAYLOAD + chunkSize);
  // The first chunk must lie inside the RIFF it belongs to.
  if (riffSize < WEBP_PAYLOAD - 8 + chunkSize) return undefined;
  const image = webpImage(fourCc, payload, chunkSize);
  return image && { format: 'webp', mimeType: 'image/webp', ...image };
}

type WebpImage = Pick<InspectedImage, 'width' | 'height' | 'hasAlpha'>;

/** The first chunk says which of the three WebP layouts follows; anything else is not a WebP image. */
function webpImage(fourCc: string, payload: Buffer, chunkSize: number): WebpImage | undefined {
  switch (fourCc) {
    case 'VP8 ':
      return vp8(payload, chunkSize);
    case 'VP8L':
      return vp8l(payload);
    case 'VP8X':
      return vp8x(payload, chunkSize);
    default:
      return undefined;
  }
}

/** Simple lossy: a 3-byte frame tag, the start code, then 14-bit width and height (2 bits of scaling above each). */
function vp8(payload: Buffer, chunkSize: number): WebpImage | undefined {
  if (payload.length < VP8_FRAME_HEADER_SIZE) return undefined;
  const tag = payload.readUIntLE(0, 3);
  const keyFrame = (tag & 1) === 0;
  const version = (tag >> 1) & 7;
  const shown = ((tag >> 4) & 1) === 1;
  const firstPartitionSize = tag >> 5;
  if (!keyFrame || version > 3 || !shown || firstPartitionSize >= chunkSize) return undefined;
  if (!payload.subarray(3, 6).equals(VP8_START_CODE)) return undefined;
  const width = payload.readUInt16LE(6) & 0x3fff;
  const height = payload.readUInt16LE(8) & 0x3fff;
  if (!validSize(width, height, 0x3fff, MAX_PIXELS)) return undefined;
  return { width, height, hasAlpha: false };
}

/** Simple lossless: signature 0x2F, then 14 bits width - 1, 14 bits height - 1, alpha_is_used, 3-bit version 0 (LSB first). */
function vp8l(payload: Buffer): WebpImage | undefined {
  if (payload.length < VP8L_HEADER_SIZE || payload[0] !== VP8L_SIGNATURE) return undefined;
  const bits = payload.readUInt32LE(1);
  if (bits >>> 29 !== 0) return undefined;
  const width = (bits & 0x3fff) + 1;
  const height = ((bits >>> 14) & 0x3fff) + 1;
  return { width, height, hasAlpha: ((bits >>> 28) & 1) === 1 };
}

/** Extended: a flags byte, 3 reserved bytes, then canvas width - 1 and height - 1 as 24-bit little-endian. */
function vp8x(payload: Buffer, chunkSize: number): WebpImage | undefined {
  if (chunkSize !== VP8X_CHUNK_SIZE || payload.length < VP8X_CHUNK_SIZE) return undefined;
  const width = payload.readUIntLE(4, 3) + 1;
  const height = payload.readUIntLE(7, 3) + 1;
  if (!validSize(width, height, VP8X_MAX_SIDE, MAX_WEBP_CANVAS_PIXELS)) return undefined;
  return { width, height, hasAlpha: (payload[0] & VP8X_ALPHA_FLAG) !== 0 };
}

// --- shared ---

function validSize(width: number, height: number, maxSide: number, maxPixels: number): boolean {
  return width > 0 && height > 0 && width <= maxSide && height <= maxSide && width * height <= maxPixels;
}

function startsWith(bytes: Buffer, prefix: Buffer, at = 0): boolean {
  return bytes.length >= at + prefix.length && bytes.subarray(at, at + prefix.length).equals(prefix);
}
