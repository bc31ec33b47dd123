import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { DEFAULT_TEAM } from '../teams/team.entity.js';
import { AdminKeyRepository } from './admin-key.repository.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { generateApiKeySecret } from './api-key.secret.js';

/** The first start's admin key on a real PostgreSQL: instances starting together make one. */
describe(AdminKeyRepository.name, () => {
  const database = useMigratedDataSource();
  let sut: AdminKeyRepository;

  beforeAll(() => {
    sut = new AdminKeyRepository(database.dataSource.getRepository(ApiKeyEntity));
  });

  const newAdminKey = () => {
    const secret = generateApiKeySecret();
    return { name: 'bootstrap admin', team: DEFAULT_TEAM, prefix: secret.prefix, keyHash: secret.hash };
  };

  it('inserts one admin key however many instances try at once, and none once there is one', async () => {
    const inserted = await Promise.all(Array.from({ length: 6 }, () => sut.insertFirstAdmin(newAdminKey())));

    expect(inserted.filter(Boolean)).toHaveLength(1);
    await expect(sut.insertFirstAdmin(newAdminKey())).resolves.toBe(false);
    const admins = await database.dataSource.getRepository(ApiKeyEntity).findBy({ isAdmin: true });
    expect(admins).toEqual([expect.objectContaining({ name: 'bootstrap admin', team: DEFAULT_TEAM, revokedAt: null })]);
  });
});
