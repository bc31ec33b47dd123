// class-transformer's metadata registry (what @nestjs/mapped-types reads too); its package ships
// the types under types/ and the code under cjs/, so the pairing is declared here.
declare module 'class-transformer/cjs/storage.js' {
  import type { MetadataStorage } from 'class-transformer/types/MetadataStorage.js';

  export const defaultMetadataStorage: MetadataStorage;
}
