import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AppConfig } from '../config/app.config.js';
import { ConsoleAssetsController } from './console-assets.controller.js';
import { CONSOLE_ASSETS_DIR, ConsoleAssets, defaultConsoleAssetsDir } from './console-assets.js';
import { ConsoleSessionController } from './console-session.controller.js';
import { ConsoleSessionService } from './console-session.service.js';
import { ConsoleSessionsModule } from './console-sessions.module.js';

/**
 * The console: its pages at `/console` (built from `web/` into `dist/console`), and signing in
 * with a key for a session cookie, and out (docs/CONSOLE.md).
 */
@Module({
  imports: [AuthModule, ConsoleSessionsModule],
  // The session routes first: `/console/api/session` is theirs, not the page's catch-all.
  controllers: [ConsoleSessionController, ConsoleAssetsController],
  providers: [
    ConsoleSessionService,
    ConsoleAssets,
    {
      provide: CONSOLE_ASSETS_DIR,
      useFactory: (config: AppConfig) => config.consoleDir ?? defaultConsoleAssetsDir(),
      inject: [AppConfig],
    },
  ],
})
export class ConsoleModule {}
