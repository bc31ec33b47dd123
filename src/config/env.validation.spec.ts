import { errorThrownBy } from '../../test/utils/thrown-error.js';
import { InvalidEnvironmentError, validateEnv } from './env.validation.js';

function errorOf(raw: Record<string, string | undefined>): InvalidEnvironmentError {
  return errorThrownBy(() => validateEnv(raw), InvalidEnvironmentError);
}

describe('validateEnv', () => {
  describe('defaults', () => {
    it('fills in the documented defaults for an empty environment', () => {
      const env = validateEnv({});

      expect(env).toMatchObject({
        PORT: 3000,
        HOST: '0.0.0.0',
        AZURE_OPENAI_API_VERSION: '2025-04-01-preview',
        UPSTREAM_TIMEOUT_MS: 600_000,
        IMAGE_URL_TTL_SECONDS: 3600,
        RATE_LIMIT_RPM: 60,
        MAX_RESPONSE_BYTES: 104_857_600,
        LOG_LEVEL: 'info',
        LOG_PROMPTS: false,
        IMAGE_STORE: 'local',
        REMOTE_IMAGE_URLS: false,
        REMOTE_IMAGE_ALLOWED_NETWORKS: [],
        REMOTE_IMAGE_TIMEOUT_MS: 10_000,
        CONSOLE_THUMBNAILS: false,
      });
      expect(env.DATABASE_URL).toBeUndefined();
      expect(env.ADMIN_API_KEY).toBeUndefined();
      expect(env.AZURE_OPENAI_ENDPOINT).toBeUndefined();
      // Derived from the memory at start (AppConfig), not a fixed default.
      expect(env.MAX_IN_FLIGHT_BYTES).toBeUndefined();
    });

    it('ignores variables it does not know', () => {
      const env = validateEnv({ SOMETHING_ELSE: 'x', PATH: '/usr/bin' });

      expect(env).not.toHaveProperty('SOMETHING_ELSE');
      expect(env).not.toHaveProperty('PATH');
    });
  });

  describe('given values', () => {
    it.each([
      ['PORT', '8080', 8080],
      ['UPSTREAM_TIMEOUT_MS', '1500', 1500],
      ['RATE_LIMIT_RPM', '120', 120],
      ['IMAGE_URL_TTL_SECONDS', '60', 60],
    ])('coerces %s=%s to the number %p', (name, value, expected) => {
      expect(validateEnv({ [name]: value })).toHaveProperty(name, expected);
    });

    it.each([
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['no', false],
    ])('reads LOG_PROMPTS=%s as %p', (value, expected) => {
      expect(validateEnv({ LOG_PROMPTS: value }).LOG_PROMPTS).toBe(expected);
    });

    it.each([
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['no', false],
    ])('reads CONSOLE_THUMBNAILS=%s as %p', (value, expected) => {
      expect(validateEnv({ CONSOLE_THUMBNAILS: value }).CONSOLE_THUMBNAILS).toBe(expected);
    });

    it('strips trailing slashes from URLs', () => {
      const env = validateEnv({
        AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/',
        PUBLIC_BASE_URL: 'https://easel.example.com//',
      });

      expect(env.AZURE_OPENAI_ENDPOINT).toBe('https://res.openai.azure.com');
      expect(env.PUBLIC_BASE_URL).toBe('https://easel.example.com');
    });

    it('reads the remote image settings', () => {
      const env = validateEnv({
        REMOTE_IMAGE_URLS: 'true',
        REMOTE_IMAGE_ALLOWED_NETWORKS: '10.20.0.0/16, 127.0.0.1/32,fd00::/8',
        REMOTE_IMAGE_TIMEOUT_MS: '2500',
      });

      expect(env.REMOTE_IMAGE_URLS).toBe(true);
      expect(env.REMOTE_IMAGE_ALLOWED_NETWORKS).toEqual([
        { address: '10.20.0.0', prefix: 16, family: 'ipv4' },
        { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
      ]);
      expect(env.REMOTE_IMAGE_TIMEOUT_MS).toBe(2500);
    });

    it('accepts postgres:// and postgresql:// database URLs', () => {
      expect(validateEnv({ DATABASE_URL: 'postgres://u:p@h/db' }).DATABASE_URL).toBe('postgres://u:p@h/db');
      expect(validateEnv({ DATABASE_URL: 'postgresql://u:p@h/db' }).DATABASE_URL).toBe('postgresql://u:p@h/db');
    });
  });

  describe('empty strings', () => {
    it('count as unset, so defaults apply', () => {
      const env = validateEnv({
        PORT: '',
        LOG_LEVEL: '  ',
        LOG_PROMPTS: '',
        AZURE_OPENAI_API_VERSION: '',
        DATABASE_URL: '',
        ADMIN_API_KEY: '',
        URL_SIGNING_SECRET: '',
        AZURE_OPENAI_ENDPOINT: '',
        REMOTE_IMAGE_URLS: '',
        REMOTE_IMAGE_ALLOWED_NETWORKS: ' ',
        CONSOLE_THUMBNAILS: '  ',
      });

      expect(env.PORT).toBe(3000);
      expect(env.LOG_LEVEL).toBe('info');
      expect(env.LOG_PROMPTS).toBe(false);
      expect(env.AZURE_OPENAI_API_VERSION).toBe('2025-04-01-preview');
      expect(env.DATABASE_URL).toBeUndefined();
      expect(env.ADMIN_API_KEY).toBeUndefined();
      expect(env.URL_SIGNING_SECRET).toBeUndefined();
      expect(env.AZURE_OPENAI_ENDPOINT).toBeUndefined();
      expect(env.REMOTE_IMAGE_URLS).toBe(false);
      expect(env.REMOTE_IMAGE_ALLOWED_NETWORKS).toEqual([]);
      expect(env.CONSOLE_THUMBNAILS).toBe(false);
    });
  });

  describe('invalid values', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '80.5'],
      ['DATABASE_URL', 'mysql://x'],
      ['LOG_LEVEL', 'loud'],
      ['AZURE_OPENAI_ENDPOINT', 'notaurl'],
      ['AZURE_OPENAI_ENDPOINT', 'ftp://host'],
      ['PUBLIC_BASE_URL', 'example.com'],
      ['LOG_PROMPTS', 'maybe'],
      ['IMAGE_STORE', 'gcs'],
      ['UPSTREAM_TIMEOUT_MS', '50'],
      ['RATE_LIMIT_RPM', '0'],
      ['REDIS_URL', 'http://cache'],
      ['REMOTE_IMAGE_URLS', 'on'],
      ['REMOTE_IMAGE_ALLOWED_NETWORKS', '10.20.0.0'],
      ['REMOTE_IMAGE_ALLOWED_NETWORKS', '10.20.0.0/16,192.168.0.0/33'],
      ['REMOTE_IMAGE_ALLOWED_NETWORKS', 'fd00::/129'],
      ['REMOTE_IMAGE_ALLOWED_NETWORKS', 'intranet.example.com/24'],
      ['REMOTE_IMAGE_TIMEOUT_MS', '50'],
      ['REMOTE_IMAGE_TIMEOUT_MS', '10s'],
      ['REMOTE_IMAGE_TIMEOUT_MS', '600001'],
      ['CONSOLE_THUMBNAILS', 'on'],
      ['MAX_IN_FLIGHT_BYTES', '0'],
      ['MAX_IN_FLIGHT_BYTES', '-1'],
      ['MAX_IN_FLIGHT_BYTES', '-1073741824'],
      ['MAX_IN_FLIGHT_BYTES', '1GB'],
      ['SPOOL_THRESHOLD_BYTES', '-1'],
      ['SPOOL_THRESHOLD_BYTES', '64MiB'],
      ['SPOOL_THRESHOLD_BYTES', '1e9'],
    ])('%s=%s throws InvalidEnvironmentError naming the variable', (name, value) => {
      const error = errorOf({ [name]: value });

      expect(error).toBeInstanceOf(InvalidEnvironmentError);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(new RegExp(`^${name}: `));
      expect(error.message).toContain(name);
    });

    it('names the variable and the allowed range for a number out of range', () => {
      expect(errorOf({ RATE_LIMIT_RPM: '100000000' }).problems).toEqual([
        'RATE_LIMIT_RPM: must be between 1 and 1000000 requests per minute (got "100000000")',
      ]);
    });

    it.each([
      ['PORT', 0, 65535],
      ['IMAGE_URL_TTL_SECONDS', 1, 604_800],
      ['UPSTREAM_TIMEOUT_MS', 100, 3_600_000],
      ['RATE_LIMIT_RPM', 1, 1_000_000],
      ['MAX_RESPONSE_BYTES', 1024, 524_288_000],
      ['REMOTE_IMAGE_TIMEOUT_MS', 100, 600_000],
      ['REQUEST_TIMEOUT_MS', 1000, 600_000],
      ['USAGE_RETENTION_MONTHS', 1, 1200],
      ['MAX_IN_FLIGHT_BYTES', 1_048_576, 1_099_511_627_776],
      ['SPOOL_THRESHOLD_BYTES', 0, 1_099_511_627_776],
    ])('%s accepts %d..%d and names that range when a value is outside it or not a number', (name, min, max) => {
      expect(validateEnv({ [name]: String(min) })).toHaveProperty(name, min);
      expect(validateEnv({ [name]: String(max) })).toHaveProperty(name, max);
      for (const value of [String(min - 1), String(max + 1), '99999999999999999999999']) {
        expect(errorOf({ [name]: value }).problems[0]).toMatch(
          new RegExp(`^${name}: must be between ${min} and ${max}\\b.* \\(got "${value}"\\)$`),
        );
      }
      for (const value of ['abc', '1.5', '1e3', '0x10']) {
        expect(errorOf({ [name]: value }).problems[0]).toMatch(
          new RegExp(`^${name}: must be a whole number .*between ${min} and ${max}\\b`),
        );
      }
    });

    it.each([
      ['on', 'on'],
      ['TRUE', 'TRUE'],
      ['a trailing space', 'true '],
      ['2', '2'],
      ['1.0', '1.0'],
      ['-1', '-1'],
      ['a list', 'true,false'],
      ['a NUL', 'tru\u0000e'],
      ['100,000 characters', 'y'.repeat(100_000)],
    ])('refuses CONSOLE_THUMBNAILS=%s, saying it must be true or false', (_, value) => {
      expect(errorOf({ CONSOLE_THUMBNAILS: value }).problems).toEqual([
        expect.stringMatching(/^CONSOLE_THUMBNAILS: must be true or false \(got "/),
      ]);
    });

    it('shows a non-secret bad value', () => {
      expect(errorOf({ LOG_LEVEL: 'loud' }).message).toContain('"loud"');
    });

    it('names the bad CIDR of REMOTE_IMAGE_ALLOWED_NETWORKS and why it is bad', () => {
      const error = errorOf({ REMOTE_IMAGE_ALLOWED_NETWORKS: '10.20.0.0/16, 192.168.0.0/33' });

      expect(error.problems[0]).toMatch(
        /^REMOTE_IMAGE_ALLOWED_NETWORKS: "192\.168\.0\.0\/33": the prefix must be 0\.\.32/,
      );
    });

    it('names every bad variable at once', () => {
      const error = errorOf({ PORT: 'abc', LOG_LEVEL: 'loud', AZURE_OPENAI_ENDPOINT: 'notaurl' });

      expect(error.problems).toHaveLength(3);
      expect(error.message).toContain('PORT');
      expect(error.message).toContain('LOG_LEVEL');
      expect(error.message).toContain('AZURE_OPENAI_ENDPOINT');
    });
  });

  describe('secrets', () => {
    it.each([
      ['ADMIN_API_KEY', 'short-admin-key'],
      ['URL_SIGNING_SECRET', 'too-short-signing-secret'],
      ['DATABASE_URL', 'mysql://root:hunter2@db/easel'],
      ['REDIS_URL', 'http://:hunter2@cache'],
    ])('%s is named but its value is not echoed', (name, value) => {
      const { message, problems } = errorOf({ [name]: value });

      expect(message).toContain(name);
      expect(message).toContain('***');
      expect(message).not.toContain(value);
      expect(problems.join('\n')).not.toContain(value);
    });
  });
});
