import { Injectable } from '@nestjs/common';
import type { GoogleAuth } from 'google-auth-library';
import { AppConfig } from '../../config/app.config.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * Bearer tokens for Vertex AI: `VERTEX_ACCESS_TOKEN` when set, otherwise google-auth-library with
 * `GOOGLE_APPLICATION_CREDENTIALS` or Application Default Credentials (scope cloud-platform); the
 * library caches the token and refreshes it before it expires.
 */
@Injectable()
export class VertexAuth {
  /** google-auth-library is loaded only when Vertex is called without a static token. */
  private auth?: Promise<GoogleAuth>;

  constructor(private readonly config: AppConfig) {}

  async authorization(): Promise<string> {
    if (this.config.vertex.accessToken) return `Bearer ${this.config.vertex.accessToken}`;
    this.auth ??= import('google-auth-library').then(
      ({ GoogleAuth }) => new GoogleAuth({ scopes: [SCOPE], keyFilename: this.config.vertex.credentialsFile }),
    );
    const token = await (await this.auth).getAccessToken();
    if (!token) throw new Error('google-auth-library returned no access token');
    return `Bearer ${token}`;
  }
}
