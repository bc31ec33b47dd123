import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DynamicModule, type INestApplicationContext, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import pg from 'pg';
import { QueryFailedError } from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity.js';
import { API_KEY_PREFIX } from '../auth/api-key.secret.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ApiKeyResponse } from '../auth/dto/api-key.response.js';
import { CreateApiKeyDto } from '../auth/dto/create-api-key.dto.js';
import { KeyInvalidationBus } from '../auth/key-invalidation.bus.js';
import { BudgetSpendModule } from '../budgets/budget-spend.module.js';
import { BudgetStatusService } from '../budgets/budget-status.service.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { toInvalidRequestError } from '../common/validation/validation.pipe.js';
import { AppConfig } from '../config/app.config.js';
import { ConfigModule } from '../config/config.module.js';
import { InvalidEnvironmentError } from '../config/env.validation.js';
import { DatabaseModule } from '../database/database.module.js';
import { readRunningDatabase } from '../database/running-database.js';
import { RedisModule } from '../redis/redis.module.js';
import { CreateTeamDto, TeamResponse } from '../teams/dto/team.dto.js';
import { TeamsModule } from '../teams/teams.module.js';
import { TeamsService } from '../teams/teams.service.js';

const HELP_HINT = 'See `npm run keys -- --help`.';

const USAGE = `Usage: npm run keys -- <command> [options]

Commands:
  create --name NAME --team TEAM [--admin] [--rpm N] [--budget USD] [--models a,b] [--expires ISO-DATE]
                  create an API key; its secret ("key") is shown this once
  list            list the keys (never their secrets)
  revoke KEY_ID   revoke a key by its id (from list)
  team-create NAME [--budget USD]
                  create a team; every key belongs to one
  team-list       list the teams

Uses the server's configuration (environment and .env): DATABASE_URL, or else the embedded
database in EASEL_DATA_DIR (default ./.easel). While the server runs on the embedded database,
the CLI connects to it; when the server is stopped, the CLI starts the database itself.

Output: one JSON object per line on stdout; messages on stderr.
Exit codes: 0 done, 1 the command failed (the message says why), 2 usage error.`;

/** The options each command takes (parseArgs names them without the dashes). */
const OPTIONS = {
  name: { type: 'string' },
  team: { type: 'string' },
  admin: { type: 'boolean' },
  rpm: { type: 'string' },
  budget: { type: 'string' },
  models: { type: 'string' },
  expires: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = Exclude<keyof typeof OPTIONS, 'help'>;
type Values = Partial<Record<OptionName, string | boolean>>;

interface Command {
  /** What the one positional argument is, for commands that take one. */
  argument?: string;
  options: OptionName[];
}

const COMMANDS: Record<string, Command> = {
  create: { options: ['name', 'team', 'admin', 'rpm', 'budget', 'models', 'expires'] },
  list: { options: [] },
  revoke: { argument: 'the key id (see `npm run keys -- list`)', options: [] },
  'team-create': { argument: 'the team name', options: ['budget'] },
  'team-list': { options: [] },
};

/** Where a DTO field comes from on the command line, for messages. */
const FLAG_OF_FIELD: Record<string, string> = {
  name: '--name',
  team: '--team',
  admin: '--admin',
  rpm: '--rpm',
  monthly_budget_usd: '--budget',
  allowed_models: '--models',
  expires_at: '--expires',
};

export interface CliOutput {
  /** Results: one JSON object per line. */
  out(line: string): void;
  /** Messages for the person at the terminal. */
  err(line: string): void;
}

/** A mistake on the command line: exit code 2. */
class UsageError extends Error {}

/** A command that ran and failed, with a message that says what to do: exit code 1. */
class CommandFailed extends Error {}

/** Just what managing keys and teams needs: no HTTP server, no providers. */
@Module({})
class KeysCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: KeysCliModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        TeamsModule,
        BudgetSpendModule,
        TypeOrmModule.forFeature([ApiKeyEntity]),
      ],
      providers: [ApiKeysService, KeyInvalidationBus],
    };
  }
}

/**
 * Runs one command of `npm run keys` and returns its exit code: 0 done, 1 the command failed,
 * 2 usage error. Never throws; messages name the fix and carry no stack trace.
 */
export async function runKeysCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  let app: INestApplicationContext | undefined;
  try {
    const { command, argument, values, help } = parseCommandLine(argv);
    if (help) {
      io.out(USAGE);
      return 0;
    }
    const input = await checkedInput(command, argument, values);
    const config = await configWithReachableDatabase(env);
    if (!config.database.url) {
      // Says where, so that a wrong EASEL_DATA_DIR (a new, empty database) does not go unnoticed.
      io.err(
        `note: no running Easel server recorded a database in ${config.dataDir}; starting its embedded database for this command.`,
      );
    }
    app = await NestFactory.createApplicationContext(KeysCliModule.forRoot(config), {
      logger: new CliLogger(io),
      abortOnError: false,
    }).catch((error: unknown) => {
      throw new CommandFailed(startFailure(error, config));
    });
    for (const line of await execute(app, command, input)) io.out(line);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`Error: ${error.message}`);
      io.err(HELP_HINT);
      return 2;
    }
    io.err(`Error: ${explain(error)}`);
    return 1;
  } finally {
    await app
      ?.close()
      .catch((error: unknown) => io.err(`warning: closing the database connection failed: ${explain(error)}`));
  }
}

function parseCommandLine(argv: string[]): { command: string; argument?: string; values: Values; help: boolean } {
  const { positionals, values } = parseStrictly(argv);
  const { help, ...options } = values;
  if (help) return { command: '', values: {}, help: true };
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('no command given (create, list, revoke, team-create or team-list).');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command '${command}' (use create, list, revoke, team-create or team-list).`);
  for (const name of Object.keys(options) as OptionName[]) {
    if (!spec.options.includes(name)) throw new UsageError(`${command} does not take --${name}.`);
  }
  if (spec.argument && rest.length === 0) throw new UsageError(`${command} needs ${spec.argument}.`);
  if (!spec.argument && rest.length > 0) throw new UsageError(`${command} takes no argument (got '${rest[0]}').`);
  if (rest.length > 1) throw new UsageError(`${command} takes one argument, ${spec.argument} (got ${rest.length}).`);
  return { command, argument: rest[0], values: options, help: false };
}

function parseStrictly(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-{1,2}[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option}'.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option && OPTIONS[option.replace(/^-+/, '') as keyof typeof OPTIONS]?.type === 'boolean'
        ? `${option} takes no value.`
        : `${option ?? 'an option'} needs a value.`;
    default:
      return message ?? String(error);
  }
}

type Input = { dto?: CreateApiKeyDto | CreateTeamDto; id?: string };

/** Everything about the command line that can be checked without the database. */
async function checkedInput(command: string, argument: string | undefined, values: Values): Promise<Input> {
  switch (command) {
    case 'create': {
      if (values.name === undefined) throw new UsageError('create needs --name NAME (what the key is for).');
      if (values.team === undefined)
        throw new UsageError('create needs --team TEAM (see `npm run keys -- team-list`).');
      const rpm = values.rpm as string | undefined;
      return {
        dto: await validated(CreateApiKeyDto, {
          name: values.name,
          team: values.team,
          admin: values.admin,
          rpm: rpm !== undefined && /^\d{1,15}$/.test(rpm) ? Number(rpm) : rpm,
          monthly_budget_usd: values.budget,
          allowed_models: (values.models as string | undefined)?.split(',').map((model) => model.trim()),
          expires_at: values.expires,
        }),
      };
    }
    case 'revoke': {
      const id = argument!;
      if (id.startsWith(API_KEY_PREFIX)) {
        throw new UsageError(
          "revoke takes the key's id, not the key itself: find the id by its prefix with `npm run keys -- list`.",
        );
      }
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
        throw new UsageError(
          `'${id}' is not a key id (a UUID such as 0b1f5a5e-5a8e-4c38-9a0e-6f7c2b0f4b0e): find it with \`npm run keys -- list\`.`,
        );
      }
      return { id };
    }
    case 'team-create':
      return { dto: await validated(CreateTeamDto, { name: argument, monthly_budget_usd: values.budget }) };
    default:
      return {};
  }
}

async function validated<T extends object>(type: new () => T, plain: Record<string, unknown>): Promise<T> {
  const instance = plainToInstance(
    type,
    Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined)),
  );
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length === 0) return instance;
  const { message, param } = toInvalidRequestError(errors);
  const field = param?.replace(/\[\d+\]$/, '');
  const flag = field === 'name' && type === CreateTeamDto ? 'the team name' : field && FLAG_OF_FIELD[field];
  throw new UsageError(flag && param ? message.replace(`'${param}'`, flag) : message);
}

async function execute(app: INestApplicationContext, command: string, input: Input): Promise<string[]> {
  const keys = app.get(ApiKeysService);
  const teams = app.get(TeamsService);
  const budgets = app.get(BudgetStatusService);
  switch (command) {
    case 'create': {
      const dto = input.dto as CreateApiKeyDto;
      const { entity, key } = await keys
        .create({
          name: dto.name,
          team: dto.team,
          isAdmin: dto.admin,
          allowedModels: dto.allowed_models,
          expiresAt: dto.expires_at,
          rpm: dto.rpm,
          monthlyBudgetUsd: dto.monthly_budget_usd,
        })
        .catch((error: unknown) => {
          if (error instanceof GatewayError && error.param === 'team') {
            throw new CommandFailed(
              `no team '${dto.team}'; create it with \`npm run keys -- team-create ${dto.team}\``,
            );
          }
          throw error;
        });
      const [budget] = await budgets.ofKeys([entity]);
      return [JSON.stringify({ ...ApiKeyResponse.from(entity, budget!), key })];
    }
    case 'list': {
      const entities = await keys.list();
      const statuses = await budgets.ofKeys(entities);
      return entities.map((entity, index) => JSON.stringify(ApiKeyResponse.from(entity, statuses[index]!)));
    }
    case 'revoke': {
      const entity = await keys.revoke(input.id!).catch((error: unknown) => {
        if (error instanceof GatewayError && error.code === ErrorCode.ResourceNotFound) {
          throw new CommandFailed(`no key with id '${input.id}'; list the keys with \`npm run keys -- list\``);
        }
        throw error;
      });
      const [budget] = await budgets.ofKeys([entity]);
      return [JSON.stringify(ApiKeyResponse.from(entity, budget!))];
    }
    case 'team-create': {
      const dto = input.dto as CreateTeamDto;
      const team = await teams.create(dto.name, dto.monthly_budget_usd ?? null).catch((error: unknown) => {
        if (error instanceof GatewayError && error.code === ErrorCode.Conflict) {
          throw new CommandFailed(
            `team '${dto.name}' already exists; list the teams with \`npm run keys -- team-list\``,
          );
        }
        throw error;
      });
      const [budget] = await budgets.ofTeams([team]);
      return [JSON.stringify(TeamResponse.from(team, budget!))];
    }
    case 'team-list': {
      const entities = await teams.list();
      const statuses = await budgets.ofTeams(entities);
      return entities.map((team, index) => JSON.stringify(TeamResponse.from(team, statuses[index]!)));
    }
    default:
      throw new UsageError(`unknown command '${command}'.`);
  }
}

/**
 * The configuration with a database that answers: `DATABASE_URL` (checked now, so a wrong one
 * fails at once instead of after TypeORM's retries); else the embedded database a running server
 * recorded in the data dir; else the configuration as it is, and the embedded database is
 * started here, as the server would.
 */
async function configWithReachableDatabase(env: Record<string, string | undefined>): Promise<AppConfig> {
  const config = AppConfig.fromEnv(env);
  if (config.database.url) {
    const problem = await connectionProblem(config.database.url);
    if (problem)
      throw new CommandFailed(
        `cannot connect to PostgreSQL at ${where(config.database.url)} (DATABASE_URL): ${problem}`,
      );
    return config;
  }
  const running = await readRunningDatabase(config.dataDir);
  if (running && !(await connectionProblem(running.url)))
    return AppConfig.fromEnv({ ...env, DATABASE_URL: running.url });
  return config;
}

/** Why PostgreSQL at `url` cannot be used, in words and with the fix; undefined when it can. */
async function connectionProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    switch (code) {
      case 'ECONNREFUSED':
        return 'nothing listens there. Start PostgreSQL, or correct DATABASE_URL (unset it to use the embedded database).';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'the host name does not resolve. Correct the host in DATABASE_URL.';
      case '28P01':
      case '28000':
        return 'PostgreSQL refused the user name or password. Correct them in DATABASE_URL.';
      case '3D000':
        return 'the database does not exist. Create it (createdb), or correct its name in DATABASE_URL.';
      default:
        return `${message ?? String(error)}. Check that PostgreSQL runs and that DATABASE_URL is right.`;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** host:port of a connection URL, never its password. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return 'DATABASE_URL';
  }
}

/** Why the CLI could not start (its database, mostly), with the fix. */
function startFailure(error: unknown, config: AppConfig): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!config.database.url && /lock file "postmaster\.pid" already exists/.test(message)) {
    return (
      `the embedded PostgreSQL in ${config.dataDir} is already running in another process that did not record ` +
      'where it listens (an Easel server of an older version, or a PostgreSQL left running after a crash). ' +
      'Restart the server with this version and run the command again, or stop that process, or set DATABASE_URL.'
    );
  }
  return explain(error);
}

/** A failure in words: our own messages as they are, PostgreSQL's framed, never a stack trace. */
function explain(error: unknown): string {
  if (error instanceof InvalidEnvironmentError) return error.message;
  if (error instanceof QueryFailedError) return `PostgreSQL refused the command: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Nest's and TypeORM's messages for the terminal: warnings and errors only, one line each, no stacks. */
class CliLogger implements LoggerService {
  constructor(private readonly io: CliOutput) {}

  log(): void {}

  warn(message: unknown): void {
    this.io.err(`warning: ${firstLine(message)}`);
  }

  error(message: unknown, ...rest: unknown[]): void {
    // The failure itself is reported once, by runKeysCli.
    if (rest.at(-1) === 'ExceptionHandler') return;
    this.io.err(`warning: ${firstLine(message)}`);
  }
}

function firstLine(message: unknown): string {
  return (message instanceof Error ? message.message : String(message)).split('\n')[0]!;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { readProcessEnv } = await import('../config/env.validation.js');
  // stdout carries only results (JSON lines, for jq and scripts): TypeORM's console chatter goes to stderr.
  console.log = console.error;
  const code = await runKeysCli(process.argv.slice(2), readProcessEnv(), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
  // Nothing should keep the process alive now; if something does, it must not hang the terminal.
  setTimeout(() => process.exit(code), 5_000).unref();
}
