import { Module } from '@nestjs/common';
import { AzureOpenAiAdapter } from './azure-openai/azure-openai.adapter.js';
import { GeminiApiAdapter } from './gemini/gemini-api.adapter.js';
import { LocalSketchAdapter } from './local/local-sketch.adapter.js';
import { ModelLifecycleGate } from './model-lifecycle.gate.js';
import { OpenAiAdapter } from './openai/openai.adapter.js';
import type { RoutedProvider } from './provider.interface.js';
import { PROVIDER_ADAPTERS } from './provider.tokens.js';
import { ProviderRegistry } from './provider-registry.service.js';
import { UpstreamExecutor } from './upstream-executor.js';
import { UpstreamHttp } from './upstream-http.js';
import { VertexAdapter } from './vertex/vertex.adapter.js';
import { VertexAuth } from './vertex/vertex-auth.js';

@Module({
  providers: [
    UpstreamHttp,
    AzureOpenAiAdapter,
    OpenAiAdapter,
    LocalSketchAdapter,
    VertexAuth,
    VertexAdapter,
    GeminiApiAdapter,
    {
      provide: PROVIDER_ADAPTERS,
      inject: [AzureOpenAiAdapter, OpenAiAdapter, VertexAdapter, GeminiApiAdapter, LocalSketchAdapter],
      useFactory: (...adapters: RoutedProvider[]) => adapters,
    },
    ProviderRegistry,
    UpstreamExecutor,
    ModelLifecycleGate,
  ],
  exports: [ProviderRegistry, UpstreamExecutor, ModelLifecycleGate],
})
export class ProvidersModule {}
