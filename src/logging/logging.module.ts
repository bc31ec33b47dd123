import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { type DestinationStream, pino } from 'pino';
import type { AppConfig } from '../config/app.config.js';

/**
 * Structured JSON logs with pino (nestjs-pino) at LOG_LEVEL. Request lines are written by
 * `RequestLogListener` (told by `RequestLifecycle` when a connection closes) with the fields an
 * operator needs and nothing secret: never a key, a prompt or image bytes; the usual
 * secret-bearing headers are redacted should anything log them.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level: config.logging.level,
              autoLogging: false,
              quietReqLogger: true,
              redact: {
                paths: [
                  'req.headers.authorization',
                  'req.headers["api-key"]',
                  'req.headers.cookie',
                  'req.headers["idempotency-key"]',
                ],
                censor: '[redacted]',
              },
              serializers: { req: () => undefined, res: () => undefined },
            },
            // Buffered: one write per 8 KB of lines (or per second) instead of one per line, off the
            // event loop; pino flushes what is left when the process exits.
            destination ?? pino.destination({ dest: 1, minLength: 8192, periodicFlush: 1000 }),
          ],
          forRoutes: [],
        }),
      ],
    };
  }
}
