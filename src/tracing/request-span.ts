import { type Span, SpanStatusCode } from '@opentelemetry/api';
import type { RequestContext } from '../common/http/request-context.js';
import { formatUsd } from '../common/money/usd.js';

/**
 * What a request's root span says once its outcome is known: its status and error code, and the
 * GenAI semantic-convention attributes of what it used (the model asked for and the one that
 * served, tokens billed, failed attempts included, like the cost), with `easel.cost_usd` as the
 * decimal string of `x-easel-cost-usd`. Nothing of the prompt, the key or the images.
 */
export function setRequestOutcome(span: Span, status: number, context: RequestContext | undefined): void {
  if (!span.isRecording()) return;
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  if (!context) return;
  if (context.errorCode) span.setAttribute('error.type', context.errorCode);
  const { usage } = context;
  if (usage.provider) span.setAttribute('gen_ai.system', usage.provider);
  if (usage.model) span.setAttribute('gen_ai.request.model', usage.model);
  if (usage.model) span.setAttribute('gen_ai.response.model', usage.servedModel ?? usage.model);
  if (usage.route) span.setAttribute('easel.route', usage.route);
  // The charged measure already holds what failed attempts were billed (`RequestMeter`).
  const billed = usage.measure ?? usage.unanswered;
  if (billed) {
    span.setAttribute('gen_ai.usage.input_tokens', billed.inputTextTokens + billed.inputImageTokens);
    span.setAttribute('gen_ai.usage.output_tokens', billed.outputTextTokens + billed.outputImageTokens);
    span.setAttribute('easel.images', billed.images);
  }
  if (usage.cost !== undefined) span.setAttribute('easel.cost_usd', formatUsd(usage.cost));
}
