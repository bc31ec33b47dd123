import { hash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext, Injectable, type PipeTransform } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { InvalidRequestError } from '../../common/errors/gateway.error.js';
import { RequestValidationPipe } from '../../common/validation/validation.pipe.js';
import { IMAGE_DATA_URL } from '../../remote-images/remote-image-url.js';
import { CreateImageEditDto, CreateImageEditJsonDto, type ImageRefDto } from '../dto/create-image-edit.dto.js';
import { type FormFile, MultipartFormReader } from './multipart-form.reader.js';

/** An input image as the client sent it: its bytes, or (JSON, REMOTE_IMAGE_URLS) a URL to fetch. */
export type SentImage = { param: string; bytes: Buffer } | { param: string; url: string };

/** `POST /v1/images/edits`, either body, read and its fields validated; the images are judged later, by model. */
export interface ImageEditBody {
  fields: CreateImageEditDto;
  images: SentImage[];
  mask?: SentImage;
}

/** Multipart text fields that are numbers or booleans in the JSON body. */
const INTEGER_FIELDS = new Set(['n', 'output_compression', 'partial_images']);
const BOOLEAN_FIELDS = new Set(['stream']);
/** `image`, `image[]` (openai-node, openai-python for lists) and `image[0]`-style names all carry images. */
const IMAGE_FIELD = /^image(\[\d{0,2}\])?$/;

const imageParam = (index: number) => `image[${index}]`;

/** The request of the handler it decorates, for `ImageEditBodyPipe` to read. */
export const EditRequest = createParamDecorator((_: unknown, context: ExecutionContext): FastifyRequest =>
  context.switchToHttp().getRequest<FastifyRequest>(),
);

/**
 * Reads an image edit's body, multipart (as the OpenAI SDKs send it) or JSON (OpenAI's
 * `images: [{ image_url }]` form), into one shape: the fields validated exactly as a JSON body's
 * are (unknown fields, types, ranges: the same 400s), the images with the `param` each error
 * will name (`image[3]`, `mask`). Multipart text fields are typed first (`n=2` is 2,
 * `stream=true` is true) so both bodies meet the same rules.
 */
@Injectable()
export class ImageEditBodyPipe implements PipeTransform<FastifyRequest, Promise<ImageEditBody>> {
  private readonly validation = new RequestValidationPipe();

  constructor(private readonly forms: MultipartFormReader) {}

  transform(request: FastifyRequest): Promise<ImageEditBody> {
    const type = request.headers['content-type']?.split(';', 1)[0]!.trim().toLowerCase();
    return type === 'multipart/form-data' ? this.fromForm(request) : this.fromJson(request.body);
  }

  private async fromForm(request: FastifyRequest): Promise<ImageEditBody> {
    let images = 0;
    const form = await this.forms.read(request.raw, (name) => (IMAGE_FIELD.test(name) ? imageParam(images++) : name));
    // No prototype: a field named `__proto__` is a field (refused as unknown), not a setter.
    const plain = Object.create(null) as Record<string, unknown>;
    for (const { name, value } of form.fields) {
      if (IMAGE_FIELD.test(name) || name === 'mask') {
        throw new InvalidRequestError(
          `${name} must be a file part (with a filename), not a text field.`,
          name === 'mask' ? 'mask' : 'image',
        );
      }
      if (Object.hasOwn(plain, name))
        throw new InvalidRequestError(`'${name}' is given more than once; give it once.`, name);
      plain[name] = typed(name, value);
    }
    const sent: SentImage[] = [];
    let mask: SentImage | undefined;
    for (const file of form.files) {
      if (file.name === 'mask') {
        if (mask) throw new InvalidRequestError('mask is given more than once; give one mask.', 'mask');
        mask = { param: 'mask', bytes: file.bytes };
      } else if (IMAGE_FIELD.test(file.name)) {
        sent.push({ param: imageParam(sent.length), bytes: file.bytes });
      } else {
        throw unknownFile(file);
      }
    }
    const fields = (await this.validation.transform(plain, {
      type: 'body',
      metatype: CreateImageEditDto,
    })) as CreateImageEditDto;
    if (sent.length === 0) {
      throw new InvalidRequestError('image is required: send the image(s) to edit as file parts named image.', 'image');
    }
    return { fields, images: sent, mask };
  }

  private async fromJson(raw: unknown): Promise<ImageEditBody> {
    const dto = (await this.validation.transform(raw, {
      type: 'body',
      metatype: CreateImageEditJsonDto,
    })) as CreateImageEditJsonDto;
    const { images: refs, mask: maskRef, ...fields } = dto;
    return {
      fields: Object.assign(new CreateImageEditDto(), fields),
      images: refs.map((ref, index) => fromRef(ref, `images[${index}]`)),
      mask: maskRef ? fromRef(maskRef, 'mask') : undefined,
    };
  }
}

/** A multipart value as the JSON body would have it; what does not convert is left for the validation to name. */
function typed(name: string, value: string): unknown {
  if (INTEGER_FIELDS.has(name) && /^-?\d{1,15}$/.test(value)) return Number(value);
  if (BOOLEAN_FIELDS.has(name) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function unknownFile(file: FormFile): InvalidRequestError {
  return new InvalidRequestError(
    `Unknown file field: '${file.name}'. Send images as image (or image[]) and a mask as mask.`,
    file.name,
    ErrorCode.UnknownField,
  );
}

function fromRef(ref: ImageRefDto, param: string): SentImage {
  if (ref.file_id !== undefined) {
    throw new InvalidRequestError(
      'file_id is not supported: Easel keeps no uploaded files. Send the image as image_url (a data URL).',
      `${param}.file_id`,
      ErrorCode.UnsupportedParameter,
    );
  }
  if (ref.image_url === undefined) throw new InvalidRequestError('image_url is required.', `${param}.image_url`);
  const url = ref.image_url.trim();
  if (/^https?:/i.test(url)) return { param, url };
  const match = IMAGE_DATA_URL.exec(url.replace(/\s+/g, ''));
  if (!match) {
    throw new InvalidRequestError(
      'An image_url must be a data URL of a PNG, JPEG or WebP image (data:image/png;base64,…) or an http(s) URL.',
      `${param}.image_url`,
    );
  }
  return { param, bytes: Buffer.from(match[2]!, 'base64') };
}

/**
 * The body's identity for `Idempotency-Key`: its validated fields in a fixed order, then each
 * image's hash in order (made only for a request with the header: it hashes every image).
 */
export function fingerprintOf(body: ImageEditBody): string {
  const fields = Object.entries(body.fields).sort(([a], [b]) => (a < b ? -1 : 1));
  const image = (sent: SentImage) => ('url' in sent ? sent.url : hash('sha256', sent.bytes, 'hex'));
  return hash(
    'sha256',
    JSON.stringify({ fields, images: body.images.map(image), mask: body.mask && image(body.mask) }),
    'hex',
  );
}
