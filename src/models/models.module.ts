import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module.js';
import { ModelsAdminController, ModelsController } from './models.controller.js';
import { ModelsService } from './models.service.js';

@Module({
  imports: [ProvidersModule],
  controllers: [ModelsController, ModelsAdminController],
  providers: [ModelsService],
})
export class ModelsModule {}
