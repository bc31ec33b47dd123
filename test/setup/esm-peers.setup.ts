// The ES modules that CommonJS dependencies require (see esm-peers.transformer.cjs), loaded in this
// test file's module registry so that classes such as Reflector are the very ones the app uses.
import * as nestCommon from '@nestjs/common';
import * as nestCore from '@nestjs/core';

(globalThis as { __easelEsmPeers?: Record<string, unknown> }).__easelEsmPeers = {
  '@nestjs/common': nestCommon,
  '@nestjs/core': nestCore,
};
