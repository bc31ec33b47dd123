import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, TimestampColumn, UsdPriceColumn } from '../../database/columns.js';

/**
 * One version of a model's prices, in force from `effective_from` until the next version.
 * Token prices are USD per million tokens; usage records keep the version they were charged at.
 */
@Entity('price_versions')
@Index('uq_price_versions_model_version', ['model', 'version'], { unique: true })
export class PriceVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  model!: string;

  @Column({ type: 'integer' })
  version!: number;

  @TimestampColumn('effective_from')
  effectiveFrom!: Date;

  /** `catalogue` when seeded from config/models.yaml, `admin` when set with PUT /admin/pricing. */
  @Column({ type: 'varchar', length: 16 })
  source!: 'catalogue' | 'admin';

  @UsdPriceColumn('input_text_per_mtok')
  inputText!: string;

  @UsdPriceColumn('input_text_cached_per_mtok')
  inputTextCached!: string;

  @UsdPriceColumn('input_image_per_mtok')
  inputImage!: string;

  @UsdPriceColumn('input_image_cached_per_mtok')
  inputImageCached!: string;

  @UsdPriceColumn('output_text_per_mtok')
  outputText!: string;

  @UsdPriceColumn('output_image_per_mtok')
  outputImage!: string;

  @UsdPriceColumn('per_image')
  perImage!: string;

  @CreatedAtColumn()
  createdAt!: Date;
}
