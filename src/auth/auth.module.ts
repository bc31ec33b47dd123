import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyResolver } from './api-key.resolver.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysService } from './api-keys.service.js';
import { TeamsModule } from '../teams/teams.module.js';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), TeamsModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, ApiKeyGuard, ApiKeyResolver],
  exports: [ApiKeysService, ApiKeyGuard],
})
export class AuthModule {}
