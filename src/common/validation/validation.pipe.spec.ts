import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsIn, IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../errors/gateway.error.js';
import { RequestValidationPipe } from './validation.pipe.js';

class MessageDto {
  @IsIn(['system', 'user', 'assistant'])
  role!: string;

  @IsString()
  @Length(1, 100)
  content!: string;
}

class ChatDto {
  @IsString()
  model!: string;

  // ArrayMinSize refuses anything but an array, so no IsArray is needed.
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => MessageDto)
  messages!: MessageDto[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;
}

const BODY = { type: 'body', metatype: ChatDto } as const;

function validBody(): Record<string, unknown> {
  return {
    model: 'local/easel/sketch',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Draw an otter.' },
    ],
  };
}

/** A valid body whose message `index` has the fields of `change` set (known to the DTO or not). */
function bodyWithMessage(index: number, change: Record<string, unknown>): Record<string, unknown> {
  const body = validBody();
  Object.assign((body.messages as Record<string, unknown>[])[index]!, change);
  return body;
}

function rejectionOf(value: unknown): Promise<InvalidRequestError> {
  return errorRejectedBy(() => new RequestValidationPipe().transform(value, BODY), InvalidRequestError);
}

describe(RequestValidationPipe.name, () => {
  let sut: RequestValidationPipe;

  beforeEach(() => {
    sut = new RequestValidationPipe();
  });

  it('turns a valid body into an instance of the DTO, nested objects included', async () => {
    const result = (await sut.transform({ ...validBody(), n: 2 }, BODY)) as ChatDto;

    expect(result).toBeInstanceOf(ChatDto);
    expect(result.messages[1]).toBeInstanceOf(MessageDto);
    expect(result).toEqual({ ...validBody(), n: 2 });
  });

  it('rejects an unknown top-level field with unknown_parameter and the field as param', async () => {
    const error = await rejectionOf({ ...validBody(), temperature: 0.2 });

    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe(ErrorCode.UnknownField);
    expect(error.code).toBe('unknown_parameter');
    expect(error.param).toBe('temperature');
    expect(error.message).toContain("'temperature'");
  });

  it.each([
    [
      'an unknown nested field by its full path',
      bodyWithMessage(1, { name: 'otter' }),
      { code: ErrorCode.UnknownField, param: 'messages[1].name' },
    ],
    ['the first failing element of an array', bodyWithMessage(0, { role: 'robot' }), { param: 'messages[0].role' }],
    ['a failing top-level field', { ...validBody(), n: 11 }, { code: ErrorCode.InvalidRequest, param: 'n' }],
    ['a missing required field', { messages: validBody().messages }, { param: 'model' }],
    [
      'the path of a NUL in a value, before the DTO is looked at',
      bodyWithMessage(1, { content: 'otter\u0000' }),
      { code: ErrorCode.InvalidRequest, param: 'messages[1].content' },
    ],
  ])('names %s as the param', async (_what, body, expected) => {
    expect(await rejectionOf(body)).toMatchObject(expected);
  });

  it('names the nested path of a failing field, in the param and the message', async () => {
    const error = await rejectionOf(bodyWithMessage(1, { content: 42 }));

    expect(error.code).toBe(ErrorCode.InvalidRequest);
    expect(error.param).toBe('messages[1].content');
    expect(error.message.startsWith("'messages[1].content'")).toBe(true);
  });

  it.each([
    ['an array', [validBody()]],
    ['a string', 'hello'],
    ['a number', 42],
    ['null', null],
  ])('rejects %s as the body', async (_what, value) => {
    const error = await rejectionOf(value);

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.code).toBe(ErrorCode.InvalidRequest);
    expect(error.message).toContain('JSON object');
  });

  it('refuses a lone surrogate even in a field the DTO does not know', async () => {
    const error = await rejectionOf({ ...validBody(), colour: '\ud800' });

    expect(error.param).toBe('colour');
    expect(error.message).toMatch(/unpaired UTF-16 surrogate/);
  });

  it('refuses a body nested 100,000 deep with a 400, not a stack overflow', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];

    const error = await rejectionOf({ ...validBody(), deep });

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toMatch(/nested too deeply/);
  });

  it('scans query strings and path parameters too, naming the parameter', async () => {
    await expect(sut.transform({ team: 'a\u0000' }, { type: 'query', metatype: Object })).rejects.toMatchObject({
      param: 'team',
    });
    await expect(sut.transform('\u0000', { type: 'param', metatype: String, data: 'id' })).rejects.toMatchObject({
      param: 'id',
    });
  });

  it('names a query parameter given more than once', async () => {
    await expect(
      sut.transform({ team: ['a', 'b'], model: 'm' }, { type: 'query', metatype: Object }),
    ).rejects.toMatchObject({
      param: 'team',
      message: "'team' is given more than once; give it once.",
    });
  });

  it('leaves values of custom parameter decorators (the principal, the request context) alone', async () => {
    const context = { note: 'internal\u0000', toString: () => 'x' };

    await expect(sut.transform(context, { type: 'custom', metatype: Object })).resolves.toBe(context);
  });

  it('leaves non-body values without a DTO alone', async () => {
    await expect(sut.transform('abc', { type: 'param', metatype: String, data: 'id' })).resolves.toBe('abc');
  });
});
