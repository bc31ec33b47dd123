import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage as transformerMetadata } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage, type MetadataStorage, type ValidationArguments, ValidationTypes } from 'class-validator';

type ValidationMetadata = ReturnType<MetadataStorage['getTargetValidationMetadatas']>[number];
type ConstraintMetadata = ReturnType<MetadataStorage['getTargetValidatorConstraints']>[number];
type DtoClass = new () => object;

interface Check {
  metadata: ValidationMetadata;
  constraints: ConstraintMetadata[];
}

interface PropertyPlan {
  name: string;
  /** `@IsOptional()`, `@ValidateIf()`: the property's checks run only when all of these hold. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  /** `@IsDefined()` first, then the other constraints, as class-validator orders them. */
  checks: Check[];
}

const validatorMetadata = getMetadataStorage();
/** The plan of each DTO class; null for a class only the full pipe can judge. */
const plans = new WeakMap<DtoClass, PropertyPlan[] | null>();

/**
 * The fast path of `RequestValidationPipe` for the common case, a valid body of plain values: a
 * body whose every field is a string, number, boolean or null, named by the DTO and passing every
 * constraint the DTO declares, is answered as the DTO instance `class-transformer` would build,
 * without the allocations of class-validator's error bookkeeping (the largest cost of a small
 * request, see docs/BENCHMARKS.md). It decides only "valid": anything else (an unknown field, a
 * nested value, a failed constraint) returns undefined, and the full pipe judges the body and
 * words the error. The constraints are class-validator's own, run as it runs them (conditions,
 * then `IsDefined`, then the rest, each constraint's `validate` with the same arguments); a DTO
 * with what this path does not run (nested or async validation, class-transformer metadata) is
 * always left to the full pipe. `plain-body.acceptor.spec.ts` checks both agree on generated bodies.
 */
export function acceptPlainBody(metatype: DtoClass, body: Record<string, unknown>): object | undefined {
  const plan = planOf(metatype);
  if (!plan) return undefined;
  for (const key in body) {
    const value = body[key];
    if (value !== null && typeof value === 'object') return undefined;
    if (!plan.some((property) => property.name === key)) return undefined;
  }
  const instance = Object.assign(new metatype(), body) as Record<string, unknown>;
  for (const property of plan) {
    const value = instance[property.name];
    if (!property.conditions.every((condition) => condition(instance, value))) continue;
    for (const { metadata, constraints } of property.checks) {
      if (metadata.validateIf && !metadata.validateIf(instance, value)) continue;
      const args: ValidationArguments = {
        targetName: metatype.name,
        property: property.name,
        object: instance,
        value,
        constraints: metadata.constraints,
      };
      for (const constraint of constraints) {
        if (constraint.instance.validate(value, args) !== true) return undefined;
      }
    }
  }
  return instance;
}

function planOf(metatype: DtoClass): PropertyPlan[] | null {
  let plan = plans.get(metatype);
  if (plan === undefined) {
    plan = buildPlan(metatype);
    plans.set(metatype, plan);
  }
  return plan;
}

/** As class-validator's `validate(object)` finds them: no groups, no schema, `always` off. */
function buildPlan(metatype: DtoClass): PropertyPlan[] | null {
  const metadatas = validatorMetadata.getTargetValidationMetadatas(
    metatype,
    undefined as unknown as string,
    false,
    false,
  );
  if (metadatas.length === 0 || hasTransformerMetadata(metatype)) return null;
  const plan: PropertyPlan[] = [];
  for (const [name, ofProperty] of Object.entries(validatorMetadata.groupByPropertyName(metadatas))) {
    // class-transformer skips a body field named like a method or accessor of the class.
    if (name in metatype.prototype || hasTransformerMetadata(metatype, name)) return null;
    const property: PropertyPlan = { name, conditions: [], checks: [] };
    const defined: Check[] = [];
    for (const metadata of ofProperty) {
      switch (metadata.type) {
        case ValidationTypes.CONDITIONAL_VALIDATION:
          property.conditions.push(metadata.constraints[0] as PropertyPlan['conditions'][number]);
          break;
        case ValidationTypes.IS_DEFINED:
        case ValidationTypes.CUSTOM_VALIDATION: {
          const constraints = validatorMetadata.getTargetValidatorConstraints(metadata.constraintCls);
          if (constraints.some((constraint) => constraint.async)) return null;
          (metadata.type === ValidationTypes.IS_DEFINED ? defined : property.checks).push({ metadata, constraints });
          break;
        }
        case ValidationTypes.WHITELIST:
          break;
        default:
          return null;
      }
    }
    property.checks.unshift(...defined);
    plan.push(property);
  }
  return plan;
}

function hasTransformerMetadata(metatype: DtoClass, property?: string): boolean {
  if (property === undefined) {
    return (
      transformerMetadata.getStrategy(metatype) !== 'none' ||
      transformerMetadata.getExposedMetadatas(metatype).length > 0 ||
      transformerMetadata.getExcludedMetadatas(metatype).length > 0
    );
  }
  return (
    transformerMetadata.findTypeMetadata(metatype, property) !== undefined ||
    transformerMetadata.findTransformMetadatas(metatype, property, TransformationType.PLAIN_TO_CLASS).length > 0
  );
}
