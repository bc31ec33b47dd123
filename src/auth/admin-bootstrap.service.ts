import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { DEFAULT_TEAM } from '../teams/team.entity.js';
import { AdminKeyBanner, adminKeyBlock } from './admin-key.banner.js';
import { AdminKeyRepository } from './admin-key.repository.js';
import { displayPrefix, generateApiKeySecret } from './api-key.secret.js';

/**
 * On the first start with no admin key in the database and no `ADMIN_API_KEY`, creates an admin
 * key and prints it once through `AdminKeyBanner` (the JSON log gets only its prefix). Instances
 * starting together make one (`AdminKeyRepository` serialises them).
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly adminKeys: AdminKeyRepository,
    private readonly config: AppConfig,
    private readonly banner: AdminKeyBanner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminApiKey) return;
    const secret = generateApiKeySecret();
    const created = await this.adminKeys.insertFirstAdmin({
      name: 'bootstrap admin',
      team: DEFAULT_TEAM,
      prefix: secret.prefix,
      keyHash: secret.hash,
    });
    if (!created) return;
    this.banner.print(adminKeyBlock(secret.key, this.config.http.publicBaseUrl, DEFAULT_TEAM));
    this.logger.warn(`Created the admin key ${displayPrefix(secret.key)}… (printed once on stderr; it is not logged)`);
  }
}
