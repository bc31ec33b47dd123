import { DataSource } from 'typeorm';
import { AppConfig } from './src/config/app.config.js';
import { startEmbeddedPostgres } from './src/database/embedded-postgres.js';
import { buildDataSourceOptions } from './src/database/typeorm.options.js';

/**
 * The DataSource the TypeORM CLI uses (`npm run migration:generate|run|revert`), built from the
 * same options as the app: `DATABASE_URL`, or the embedded PostgreSQL in `EASEL_DATA_DIR`.
 */
const config = AppConfig.fromProcess();
const url = config.database.url ?? (await startEmbeddedPostgres({ dataDir: config.dataDir, database: 'easel' })).url;

export default new DataSource(buildDataSourceOptions(url));
