import { totalmem } from 'node:os';
import { AppConfig, defaultInFlightBytes, MIN_DEFAULT_IN_FLIGHT_BYTES } from './app.config.js';

const GIB = 1024 ** 3;

describe(defaultInFlightBytes.name, () => {
  it("is half the cgroup's memory limit when one is set below the machine's memory", () => {
    expect(defaultInFlightBytes(2 * GIB, 16 * GIB)).toBe(GIB);
  });

  it("is half the machine's memory without a cgroup limit (0, or the unlimited 2^64 Node reports)", () => {
    expect(defaultInFlightBytes(0, 16 * GIB)).toBe(8 * GIB);
    expect(defaultInFlightBytes(2 ** 64, 16 * GIB)).toBe(8 * GIB);
    expect(defaultInFlightBytes(32 * GIB, 16 * GIB)).toBe(8 * GIB);
  });

  it('is never below 256 MiB, however small the limit', () => {
    expect(defaultInFlightBytes(256 * 1024 ** 2, 16 * GIB)).toBe(MIN_DEFAULT_IN_FLIGHT_BYTES);
    expect(MIN_DEFAULT_IN_FLIGHT_BYTES).toBe(268_435_456);
  });
});

describe(`${AppConfig.name}.maxInFlightBytes`, () => {
  it('is MAX_IN_FLIGHT_BYTES when set', () => {
    expect(AppConfig.fromEnv({ MAX_IN_FLIGHT_BYTES: '12000000' }).maxInFlightBytes).toBe(12_000_000);
  });

  it("is derived from this machine's memory when unset", () => {
    expect(AppConfig.fromEnv({}).maxInFlightBytes).toBe(defaultInFlightBytes(process.constrainedMemory(), totalmem()));
  });
});
