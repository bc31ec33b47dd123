/**
 * Lists the models this API key may use: their endpoints, and whether this server can serve them
 * (and if not, which variables it lacks).
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/models.ts
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1).
 */
import OpenAI from 'openai';

/** Easel's additions to OpenAI's model object; the SDK passes them through untyped. */
type EaselModel = OpenAI.Models.Model & { endpoints: string[]; available: boolean; unavailable_reason?: string };

const apiKey = process.env.EASEL_API_KEY;
if (!apiKey) {
  console.error('Set EASEL_API_KEY to an Easel API key (an admin creates one with POST /admin/keys).');
  process.exit(1);
}

const client = new OpenAI({ baseURL: process.env.EASEL_BASE_URL ?? 'http://localhost:3000/v1', apiKey });

try {
  for await (const model of client.models.list()) {
    const { endpoints, available, unavailable_reason: reason } = model as EaselModel;
    console.log(`${model.id} [${endpoints.join(', ')}] ${available ? 'available' : `unavailable: ${reason}`}`);
  }
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."
  console.error(`Listing models failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
