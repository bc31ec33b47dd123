import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { Principal } from './principal.js';

export function mayUseModel(principal: Principal, modelId: string): boolean {
  return principal.allowedModels === null || principal.allowedModels.includes(modelId);
}

/** 403 when the key's `allowed_models` does not include the model. */
export function assertMayUseModel(principal: Principal, modelId: string): void {
  if (!mayUseModel(principal, modelId)) {
    throw new GatewayError(ErrorCode.PermissionDenied, `This API key may not use the model '${modelId}'.`, {
      param: 'model',
    });
  }
}
