import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { AdminKeyBanner, adminKeyBlock } from './admin-key.banner.js';
import { displayPrefix, generateApiKeySecret } from './api-key.secret.js';
import { DEFAULT_TEAM } from './api-keys.service.js';

const BOOTSTRAP_LOCK_ID = 0x45_41_53_46;

/**
 * On the first start with no admin key in the database and no `ADMIN_API_KEY`, creates an admin
 * key and prints it once through `AdminKeyBanner` (the JSON log gets only its prefix). Serialised
 * by an advisory lock so that instances starting together make one.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly config: AppConfig,
    private readonly banner: AdminKeyBanner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminApiKey) return;
    const created = await this.keys.manager.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_ID]);
      const repository = manager.getRepository(ApiKeyEntity);
      if ((await repository.countBy({ isAdmin: true })) > 0) return undefined;
      const secret = generateApiKeySecret();
      await repository.insert({
        name: 'bootstrap admin',
        team: DEFAULT_TEAM,
        prefix: secret.prefix,
        keyHash: secret.hash,
        isAdmin: true,
      });
      return secret.key;
    });
    if (!created) return;
    this.banner.print(adminKeyBlock(created, this.config.http.publicBaseUrl, DEFAULT_TEAM));
    this.logger.warn(`Created the admin key ${displayPrefix(created)}… (printed once on stderr; it is not logged)`);
  }
}
