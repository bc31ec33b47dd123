import { Module } from '@nestjs/common';
import { AzureOpenAiAdapter } from './azure-openai/azure-openai.adapter.js';
import { LocalSketchAdapter } from './local/local-sketch.adapter.js';
import type { ImageProvider } from './provider.interface.js';
import { ProviderRegistry } from './provider-registry.service.js';
import { IMAGE_PROVIDERS } from './provider.tokens.js';
import { UpstreamHttp } from './upstream-http.js';

@Module({
  providers: [
    UpstreamHttp,
    AzureOpenAiAdapter,
    LocalSketchAdapter,
    {
      provide: IMAGE_PROVIDERS,
      inject: [AzureOpenAiAdapter, LocalSketchAdapter],
      useFactory: (...adapters: ImageProvider[]) => adapters,
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry],
})
export class ProvidersModule {}
