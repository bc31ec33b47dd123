import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ConsoleSessionController } from './console-session.controller.js';
import { ConsoleSessionService } from './console-session.service.js';
import { ConsoleSessionsModule } from './console-sessions.module.js';

/** The console's server side: signing in with a key for a session cookie, and out (docs/CONSOLE.md). */
@Module({
  imports: [AuthModule, ConsoleSessionsModule],
  controllers: [ConsoleSessionController],
  providers: [ConsoleSessionService],
})
export class ConsoleModule {}
