import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import { chatRequest, imageRequest } from '../../../test/factories/request-body.factory.js';
import { CreateApiKeyDto, UpdateApiKeyDto } from '../../auth/dto/create-api-key.dto.js';
import { CreateChatCompletionDto } from '../../chat/dto/create-chat-completion.dto.js';
import { CreateImageDto } from '../../images/dto/create-image.dto.js';
import { CreateTeamDto } from '../../teams/dto/team.dto.js';
import { SetPriceDto } from '../../usage/pricing/dto/pricing.dto.js';
import { acceptPlainBody } from './plain-body.acceptor.js';
import { VALIDATION_OPTIONS } from './validation.pipe.js';

type Dto = new () => object;

/** The full pipe, as Nest runs it without the fast path. */
const fullPipe = new ValidationPipe(VALIDATION_OPTIONS);
const judge = (dto: Dto, body: Record<string, unknown>) =>
  fullPipe.transform(structuredClone(body), { type: 'body', metatype: dto, data: '' }).then(
    (value) => ({ ok: true as const, value }),
    () => ({ ok: false as const }),
  );

const fieldsOf = (dto: Dto) => [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', false, false)
      .map((m) => m.propertyName),
  ),
];

/** Values near and far from what the DTOs take: enum words, sizes, numbers at the edges, other types. */
const anyValue = fc.oneof(
  fc.constantFrom('auto', 'url', 'b64_json', 'high', 'png', 'jpeg', 'transparent', '1024x1024', '64x64', 'x', ''),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: -2, max: 120 }),
  fc.double({ noNaN: true, min: -1, max: 2 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);

/** A valid body with some fields changed, removed or added (names of the DTO, and a few others). */
const bodies = (dto: Dto, valid: Record<string, unknown>) =>
  fc
    .record({
      changes: fc.dictionary(fc.constantFrom(...fieldsOf(dto), 'extra', 'toString', 'constructor'), anyValue, {
        maxKeys: 3,
      }),
      removed: fc.subarray(Object.keys(valid), { maxLength: Math.min(2, Object.keys(valid).length) }),
    })
    .map(({ changes, removed }) => {
      const body: Record<string, unknown> = { ...valid, ...changes };
      for (const key of removed) delete body[key];
      return body;
    });

describe(acceptPlainBody.name, () => {
  const cases: Array<[string, Dto, Record<string, unknown>]> = [
    ['CreateImageDto', CreateImageDto, imageRequest({ n: 2, quality: 'high', user: 'u-1', stream: false })],
    ['CreateChatCompletionDto', CreateChatCompletionDto, chatRequest()],
    ['CreateTeamDto', CreateTeamDto, { name: 'growth', monthly_budget_usd: '10' }],
    ['CreateApiKeyDto', CreateApiKeyDto, { name: 'k', team: 'growth', rpm: 5 }],
    ['UpdateApiKeyDto', UpdateApiKeyDto, { name: 'k' }],
    ['SetPriceDto', SetPriceDto, { per_image: '0.04' }],
  ];

  it.each(cases)(
    'accepts a %s body only when the full pipe accepts it, as the same instance',
    async (_name, dto, valid) => {
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(bodies(dto, valid), async (body) => {
          const fast = acceptPlainBody(dto, structuredClone(body));
          if (fast === undefined) return;
          accepted++;
          const full = await judge(dto, body);
          expect(full.ok).toBe(true);
          expect(fast).toStrictEqual(full.ok && full.value);
        }),
        { numRuns: 400, seed: 20261203 },
      );
      // A path that never answers would pass the property: it must answer for the DTO it is for.
      if (dto === CreateImageDto) expect(accepted).toBeGreaterThan(50);
    },
  );

  it('answers a valid image request as a CreateImageDto, fields as sent', () => {
    const body = imageRequest({ n: 3, output_compression: 80, background: 'auto' });

    const dto = acceptPlainBody(CreateImageDto, body);

    expect(dto).toBeInstanceOf(CreateImageDto);
    expect(dto).toMatchObject(body);
  });

  it.each([
    ['a constraint fails', imageRequest({ n: 0 })],
    ['a required field is missing', { prompt: 'an otter' }],
    ['a field is unknown', imageRequest({ colour: 'blue' })],
    ['a field is nested', imageRequest({ prompt: { text: 'an otter' } })],
  ])('leaves a body to the full pipe when %s', (_case, body) => {
    expect(acceptPlainBody(CreateImageDto, body)).toBeUndefined();
  });

  it('leaves DTOs with nested validation or class-transformer metadata to the full pipe', () => {
    expect(acceptPlainBody(CreateChatCompletionDto, chatRequest())).toBeUndefined();
    expect(acceptPlainBody(CreateTeamDto, { name: 'growth' })).toBeUndefined();
  });
});
