import { inspect } from 'node:util';
import { describeFsError, EmbeddedPostgresUnavailableError } from './embedded-postgres.error.js';

describe(EmbeddedPostgresUnavailableError.name, () => {
  it('names the path, why, and the three ways out as root; printed, it is that message alone', () => {
    const sut = new EmbeddedPostgresUnavailableError('/var/lib/easel', 'read-only file system (EROFS)', {
      asRoot: true,
      context: 'Easel keeps the cluster there',
    });

    expect(sut.message).toBe(
      'Embedded PostgreSQL cannot start: /var/lib/easel: read-only file system (EROFS). Easel keeps the cluster there. ' +
        'Ways out: run Easel as a regular user, set DATABASE_URL to a PostgreSQL server, or set EASEL_DATA_DIR to a writable ' +
        'directory the user "postgres" can reach (every parent directory searchable by others, e.g. under /srv or /var/lib).',
    );
    expect(inspect(sut)).toBe(sut.message);
    expect(inspect({ cause: sut })).not.toContain('    at ');
  });

  it('offers a regular user only the ways out that apply to one', () => {
    const sut = new EmbeddedPostgresUnavailableError(
      '/data/easel',
      'cannot create the data dir: permission denied (EACCES)',
      { asRoot: false },
    );

    expect(sut.message).toBe(
      'Embedded PostgreSQL cannot start: /data/easel: cannot create the data dir: permission denied (EACCES). ' +
        'Ways out: set DATABASE_URL to a PostgreSQL server, or set EASEL_DATA_DIR to a writable directory.',
    );
  });

  it('puts file system errors in words, keeping their code', () => {
    expect(describeFsError(Object.assign(new Error('EROFS: read-only file system, mkdir'), { code: 'EROFS' }))).toBe(
      'read-only file system (EROFS)',
    );
    expect(describeFsError(new Error('owned by uid 1000, not root'))).toBe('owned by uid 1000, not root');
  });
});
