import { useMigratedDataSource } from '../../../test/utils/migrated-data-source.js';
import { PriceVersionEntity } from './price-version.entity.js';
import { type PriceVersionContent, PriceVersionRepository } from './price-version.repository.js';

function prices(perImage: string): PriceVersionContent {
  const zero = '0.000000';
  return {
    source: 'admin',
    inputText: zero,
    inputTextCached: zero,
    inputImage: zero,
    inputImageCached: zero,
    outputText: zero,
    outputImage: zero,
    perImage,
  };
}

/** Price versions on a real PostgreSQL: numbered one after another, the newest in force. */
describe(PriceVersionRepository.name, () => {
  const database = useMigratedDataSource();
  let sut: PriceVersionRepository;

  beforeAll(() => {
    sut = new PriceVersionRepository(database.dataSource.getRepository(PriceVersionEntity));
  });

  it('numbers versions added at once one after another', async () => {
    await Promise.all(
      ['0.010000', '0.020000', '0.030000'].map((perImage) => sut.addVersion('test/one', prices(perImage))),
    );

    const history = await sut.history('test/one');

    expect(history.map((version) => version.version)).toEqual([3, 2, 1]);
    await expect(sut.latest('test/one')).resolves.toMatchObject({ version: 3 });
  });

  it('keeps the latest version when told it already holds the prices', async () => {
    const first = await sut.addVersion('test/two', prices('0.010000'));

    const kept = await sut.addVersion('test/two', prices('0.010000'), (latest) => latest.perImage === '0.010000');

    expect(kept).toMatchObject({ id: first.id, version: 1 });
    await expect(sut.history('test/two')).resolves.toHaveLength(1);
  });

  it('reads the newest version of every model as the one in force', async () => {
    await sut.addVersion('in-force/a', prices('0.010000'));
    await sut.addVersion('in-force/a', prices('0.050000'));
    await sut.addVersion('in-force/b', prices('0.020000'));

    const inForce = (await sut.inForce()).filter((version) => version.model.startsWith('in-force/'));

    expect(inForce.map(({ model, version, perImage }) => ({ model, version, perImage }))).toEqual([
      { model: 'in-force/a', version: 2, perImage: '0.050000' },
      { model: 'in-force/b', version: 1, perImage: '0.020000' },
    ]);
  });
});
