import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { DatabaseServer } from './database-server.js';
import { runMigrationsExclusively } from './migration-runner.js';
import { buildDataSourceOptions } from './typeorm.options.js';

@Module({ providers: [DatabaseServer], exports: [DatabaseServer] })
class DatabaseServerModule {}

/** PostgreSQL through TypeORM; migrations are applied before any repository is used. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [DatabaseServerModule],
      inject: [DatabaseServer],
      useFactory: async (server: DatabaseServer) => ({
        ...buildDataSourceOptions(await server.connectionUrl()),
        // Carried to dataSourceFactory, which needs the server too.
        server,
      }),
      dataSourceFactory: async (options) => {
        const { server, ...dataSourceOptions } = options as DataSourceOptions & { server: DatabaseServer };
        const dataSource = await new DataSource(dataSourceOptions).initialize();
        server.attach(dataSource);
        await runMigrationsExclusively(dataSource);
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
