import { rm } from 'node:fs/promises';

export default async function globalTeardown() {
  const embedded = globalThis.__easelEmbeddedPostgres;
  if (!embedded) return;
  await embedded.handle.stop();
  await rm(embedded.dir, { recursive: true, force: true });
}
