// Jest before Node 24.9 cannot require() an ES module: its CommonJS loader runs the file as
// CommonJS, through this transform when one matches. @fastify/static (CommonJS, loaded by the
// Swagger UI at /docs) requires content-disposition, which is ESM-only; Node itself allows that,
// so this is a test-runner gap only. When Jest loads the file as CommonJS, it gets the same code
// compiled to CommonJS; when it loads it as ESM (an import, or require(esm) on Node 24.9+), the
// source as it is.
import { createHash } from 'node:crypto';
import ts from 'typescript';

export default {
  process(source, path, options) {
    if (options.supportsStaticESM) return { code: source };
    const { outputText } = ts.transpileModule(source, {
      fileName: path,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2023, allowJs: true },
    });
    return { code: outputText };
  },
  // Jest adds whether it loads the file as ESM or CommonJS to this key.
  getCacheKey(source, path) {
    return createHash('sha1').update(`esm-to-cjs-1\0${ts.version}\0${path}\0`).update(source).digest('hex');
  },
};
