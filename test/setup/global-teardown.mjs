import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export default async function globalTeardown() {
  const embedded = globalThis.__easelEmbeddedPostgres;
  if (!embedded) return;
  await embedded.handle.stop();
  await rm(embedded.dir, { recursive: true, force: true });
  // As root with a private temp dir, the cluster lived in Easel's own dir instead (see its notes).
  await rm(dirname(embedded.handle.clusterDir), { recursive: true, force: true });
}
