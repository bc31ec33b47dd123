import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { PriceVersionEntity } from './price-version.entity.js';

const PRICING_LOCK_ID = 0x45_41_53_47;

/** A new version's content: everything but the model, its number and when it takes effect. */
export type PriceVersionContent = Omit<PriceVersionEntity, 'id' | 'model' | 'version' | 'effectiveFrom' | 'createdAt'>;

/** The queries behind price versions (table `price_versions`). */
@Injectable()
export class PriceVersionRepository {
  constructor(@InjectRepository(PriceVersionEntity) private readonly versions: Repository<PriceVersionEntity>) {}

  /** Every version of `model`, the newest first. */
  history(model: string): Promise<PriceVersionEntity[]> {
    return this.versions.find({ where: { model }, order: { version: 'DESC' } });
  }

  latest(model: string): Promise<PriceVersionEntity | null> {
    return this.versions.findOne({ where: { model }, order: { version: 'DESC' } });
  }

  /** The version in force now of every model that has one: its newest already in effect. */
  inForce(): Promise<PriceVersionEntity[]> {
    return this.versions
      .createQueryBuilder('p')
      .distinctOn(['p.model'])
      .where('p.effective_from <= now()')
      .orderBy('p.model')
      .addOrderBy('p.version', 'DESC')
      .getMany();
  }

  /**
   * Adds `content` as `model`'s next version, in force from now; unless `keepLatest(latest)` says
   * the latest version already holds it, which is then returned instead. Serialised per model by
   * an advisory lock, so that instances adding versions at once number them one after another.
   */
  async addVersion(
    model: string,
    content: PriceVersionContent,
    keepLatest: (latest: PriceVersionEntity) => boolean = () => false,
  ): Promise<PriceVersionEntity> {
    return this.versions.manager.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PRICING_LOCK_ID, model]);
      const repository = manager.getRepository(PriceVersionEntity);
      const latest = await repository.findOne({ where: { model }, order: { version: 'DESC' } });
      if (latest && keepLatest(latest)) return latest;
      return repository.save(
        repository.create({ ...content, model, version: (latest?.version ?? 0) + 1, effectiveFrom: new Date() }),
      );
    });
  }
}
