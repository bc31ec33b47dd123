// node --import ./test/utils/ts-esm-register.mjs src/main.ts: runs Easel from its sources (see ts-esm-hooks.mjs).
import { register } from 'node:module';

register('./ts-esm-hooks.mjs', import.meta.url);
