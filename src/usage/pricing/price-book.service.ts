import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { formatUsd, parseUsd } from '../../common/money/usd.js';
import { ProviderRegistry } from '../../providers/provider-registry.service.js';
import { mapPriceKinds, PRICE_KINDS, type PriceSheet } from './price-sheet.js';
import type { PriceVersionEntity } from './price-version.entity.js';
import { PriceVersionRepository } from './price-version.repository.js';

export interface CurrentPrice {
  model: string;
  version: number;
  effectiveFrom: Date;
  source: 'catalogue' | 'admin';
  prices: PriceSheet;
}

export type PriceInput = { [K in keyof PriceSheet]?: string };

const REFRESH_MS = 15_000;

/**
 * The price versions in force, per model. Seeded from the catalogue at start (a new version when
 * the catalogue's prices change, unless an admin has set prices since); `PUT /admin/pricing`
 * adds versions from now on. Reads come from memory, refreshed from PostgreSQL every 15 s so that
 * other instances' changes arrive.
 */
@Injectable()
export class PriceBook implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PriceBook.name);
  private current = new Map<string, CurrentPrice>();
  private refresher?: NodeJS.Timeout;

  constructor(
    private readonly versions: PriceVersionRepository,
    private readonly registry: ProviderRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.seedFromCatalogue();
    await this.refresh();
    this.refresher = setInterval(
      () => void this.refresh().catch((error) => this.logger.warn(`Price refresh failed: ${String(error)}`)),
      REFRESH_MS,
    );
    this.refresher.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.refresher);
  }

  /** The price in force for a model now. Every catalogue model has one (checked at boot). */
  priceOf(model: string): CurrentPrice {
    const price = this.current.get(model);
    if (!price) throw new Error(`no price for model ${model}`);
    return price;
  }

  list(): CurrentPrice[] {
    return [...this.current.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  async history(model: string): Promise<CurrentPrice[]> {
    this.assertKnown(model);
    return (await this.versions.history(model)).map(toCurrent);
  }

  /** A new version, in force from now; kinds left out keep their current price. */
  async setPrice(model: string, input: PriceInput): Promise<CurrentPrice> {
    this.assertKnown(model);
    const base = this.priceOf(model).prices;
    const sheet = mapPriceKinds((kind) => (input[kind] === undefined ? base[kind] : parseUsd(input[kind]!)));
    const saved = await this.insertVersion(model, sheet, 'admin');
    this.current.set(model, saved);
    return saved;
  }

  private assertKnown(model: string): void {
    if (!this.registry.list().some((candidate) => candidate.definition.id === model)) {
      throw new GatewayError(ErrorCode.ModelNotFound, `The model '${model}' is not in the catalogue.`, {
        param: 'model',
      });
    }
  }

  private async seedFromCatalogue(): Promise<void> {
    for (const { definition } of this.registry.list()) {
      const latest = await this.versions.latest(definition.id);
      if (latest && latest.source === 'admin') {
        if (!samePrices(toCurrent(latest).prices, definition.prices)) {
          this.logger.warn(`${definition.id}: prices set with PUT /admin/pricing override the catalogue's.`);
        }
        continue;
      }
      if (latest && samePrices(toCurrent(latest).prices, definition.prices)) continue;
      await this.insertVersion(definition.id, definition.prices, 'catalogue');
    }
  }

  private async insertVersion(model: string, prices: PriceSheet, source: 'catalogue' | 'admin'): Promise<CurrentPrice> {
    const saved = await this.versions.addVersion(
      model,
      { source, ...mapPriceKinds((kind) => formatUsd(prices[kind])) },
      // The catalogue's prices are added once: another instance starting may have just done it.
      (latest) => source === 'catalogue' && samePrices(toCurrent(latest).prices, prices),
    );
    return toCurrent(saved);
  }

  private async refresh(): Promise<void> {
    const rows = await this.versions.inForce();
    const next = new Map(rows.map((row) => [row.model, toCurrent(row)]));
    for (const { definition } of this.registry.list()) {
      if (!next.has(definition.id)) throw new Error(`Model ${definition.id} has no price in price_versions`);
    }
    this.current = next;
  }
}

function toCurrent(entity: PriceVersionEntity): CurrentPrice {
  const { model, version, effectiveFrom, source } = entity;
  return { model, version, effectiveFrom, source, prices: mapPriceKinds((kind) => parseUsd(entity[kind])) };
}

function samePrices(a: PriceSheet, b: PriceSheet): boolean {
  return PRICE_KINDS.every((kind) => a[kind] === b[kind]);
}
