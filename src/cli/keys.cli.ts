import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ApiKeyEntity } from '../auth/api-key.entity.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ApiKeyResponse } from '../auth/dto/api-key.response.js';
import { CreateApiKeyDto } from '../auth/dto/create-api-key.dto.js';
import { KeyInvalidationBus } from '../auth/key-invalidation.bus.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { toInvalidRequestError } from '../common/validation/validation.pipe.js';
import { AppConfig } from '../config/app.config.js';
import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { CreateTeamDto, TeamResponse } from '../teams/dto/team.dto.js';
import { TeamsModule } from '../teams/teams.module.js';
import { TeamsService } from '../teams/teams.service.js';

const USAGE = `Usage: npm run keys -- <command>
  create --name NAME --team TEAM [--admin] [--rpm N] [--budget USD] [--models a,b] [--expires ISO-DATE]
  list
  revoke KEY_ID
  team-create NAME [--budget USD]
  team-list
Uses the same configuration as the server (DATABASE_URL, or the embedded database in EASEL_DATA_DIR).`;

/** Just what managing keys and teams needs: no HTTP server, no providers. */
@Module({})
class KeysCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: KeysCliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule, TeamsModule, TypeOrmModule.forFeature([ApiKeyEntity])],
      providers: [ApiKeysService, KeyInvalidationBus],
    };
  }
}

/** Runs one command; returns the exit code. Output goes to `print` as JSON lines. */
export async function runKeysCli(argv: string[], env: Record<string, string | undefined>, print: (line: string) => void): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      team: { type: 'string' },
      admin: { type: 'boolean' },
      rpm: { type: 'string' },
      budget: { type: 'string' },
      models: { type: 'string' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    print(USAGE);
    return command ? 0 : 2;
  }
  let app: INestApplicationContext | undefined;
  try {
    app = await NestFactory.createApplicationContext(KeysCliModule.forRoot(AppConfig.fromEnv(env)), { logger: ['error', 'warn'] });
    const keys = app.get(ApiKeysService);
    const teams = app.get(TeamsService);
    switch (command) {
      case 'create': {
        const dto = await validated(CreateApiKeyDto, {
          name: values.name,
          team: values.team,
          admin: values.admin,
          rpm: values.rpm === undefined ? undefined : Number(values.rpm),
          monthly_budget_usd: values.budget,
          allowed_models: values.models?.split(',').map((model) => model.trim()),
          expires_at: values.expires,
        });
        const { entity, key } = await keys.create({
          name: dto.name,
          team: dto.team,
          isAdmin: dto.admin,
          allowedModels: dto.allowed_models,
          expiresAt: dto.expires_at,
          rpm: dto.rpm,
          monthlyBudgetUsd: dto.monthly_budget_usd,
        });
        print(JSON.stringify({ ...ApiKeyResponse.from(entity), key }));
        return 0;
      }
      case 'list':
        for (const entity of await keys.list()) print(JSON.stringify(ApiKeyResponse.from(entity)));
        return 0;
      case 'revoke':
        if (!argument) throw new Error('revoke needs the key id');
        print(JSON.stringify(ApiKeyResponse.from(await keys.revoke(argument))));
        return 0;
      case 'team-create': {
        const dto = await validated(CreateTeamDto, { name: argument, monthly_budget_usd: values.budget });
        print(JSON.stringify(TeamResponse.from(await teams.create(dto.name, dto.monthly_budget_usd ?? null))));
        return 0;
      }
      case 'team-list':
        for (const team of await teams.list()) print(JSON.stringify(TeamResponse.from(team)));
        return 0;
      default:
        print(`Unknown command '${command}'.\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    print(`Error: ${error instanceof GatewayError || error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await app?.close();
  }
}

async function validated<T extends object>(type: new () => T, plain: Record<string, unknown>): Promise<T> {
  const instance = plainToInstance(type, Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined)));
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw toInvalidRequestError(errors);
  return instance;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { readProcessEnv } = await import('../config/env.validation.js');
  process.exitCode = await runKeysCli(process.argv.slice(2), readProcessEnv(), (line) => console.log(line));
}
