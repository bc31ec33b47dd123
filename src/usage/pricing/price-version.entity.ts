import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

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

  @Column({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom!: Date;

  /** `catalogue` when seeded from config/models.yaml, `admin` when set with PUT /admin/pricing. */
  @Column({ type: 'varchar', length: 16 })
  source!: 'catalogue' | 'admin';

  @Column({ name: 'input_text_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  inputText!: string;

  @Column({ name: 'input_text_cached_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  inputTextCached!: string;

  @Column({ name: 'input_image_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  inputImage!: string;

  @Column({ name: 'input_image_cached_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  inputImageCached!: string;

  @Column({ name: 'output_text_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  outputText!: string;

  @Column({ name: 'output_image_per_mtok', type: 'numeric', precision: 18, scale: 6 })
  outputImage!: string;

  @Column({ name: 'per_image', type: 'numeric', precision: 18, scale: 6 })
  perImage!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
