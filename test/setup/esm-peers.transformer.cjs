// Jest (on Node 20) cannot require() an ES module from CommonJS, but @nestjs/throttler is
// CommonJS and requires @nestjs/common and @nestjs/core, which are ESM-only in NestJS 12. Node
// itself allows it, so this is a test-runner gap only: in the throttler's files, those two
// require() calls read the very module instances the tests imported (see esm-peers.setup.ts).
const PEERS = /require\("(@nestjs\/common|@nestjs\/core)"\)/g;

module.exports = {
  process(source) {
    return { code: source.replace(PEERS, (_match, name) => `globalThis.__easelEsmPeers[${JSON.stringify(name)}]`) };
  },
  getCacheKey(source, path) {
    return `esm-peers-1:${path}:${source.length}`;
  },
};
