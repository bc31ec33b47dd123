import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity.js';

const BOOTSTRAP_LOCK_ID = 0x45_41_53_46;

/** An admin key as the first start creates it: who it is and how to recognise it, never the key itself. */
export type NewAdminKey = Pick<ApiKeyEntity, 'name' | 'team' | 'prefix' | 'keyHash'>;

/** The query behind the first start's admin key (table `api_keys`). */
@Injectable()
export class AdminKeyRepository {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  /**
   * Inserts `key` as an admin key if the database has no admin key yet; returns whether it did.
   * Serialised by an advisory lock, so that of instances starting together one inserts.
   */
  async insertFirstAdmin(key: NewAdminKey): Promise<boolean> {
    return this.keys.manager.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_ID]);
      const repository = manager.getRepository(ApiKeyEntity);
      if ((await repository.countBy({ isAdmin: true })) > 0) return false;
      await repository.insert({ ...key, isAdmin: true });
      return true;
    });
  }
}
