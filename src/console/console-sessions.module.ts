import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConsoleSessionCookie } from './console-session.cookie.js';
import { ConsoleSessionEntity } from './console-session.entity.js';
import { ConsoleSessionStore } from './console-session.store.js';

/**
 * Where console sessions live and how their cookie is written: what `AuthModule` needs to
 * authenticate a request by its cookie, apart from `ConsoleModule` (sign-in), which needs `AuthModule`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ConsoleSessionEntity])],
  providers: [ConsoleSessionStore, ConsoleSessionCookie],
  exports: [ConsoleSessionStore, ConsoleSessionCookie],
})
export class ConsoleSessionsModule {}
