/// <reference types="vitest/config" />
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, runnerImport, type Plugin } from 'vite';

const SERVER = process.env.MERCADO_API ?? 'http://127.0.0.1:8080';

/** Writes dist/trusted-documents.json: every operation, keyed by the hash of the text sent. */
function trustedDocumentsManifest(): Plugin {
  let outDir = 'dist';
  return {
    name: 'mercado-trusted-documents',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    async closeBundle() {
      const { module } = await runnerImport<typeof import('./src/api/documents')>('/src/api/documents.ts', {
        configFile: false,
        root: import.meta.dirname,
      });
      const manifest = await module.trustedDocuments();
      await writeFile(join(outDir, 'trusted-documents.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    },
  };
}

/** Writes `.br` and `.gz` beside each text file; mercado serves them to browsers that accept them. */
function precompress(): Plugin {
  return {
    name: 'mercado-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const files = Object.keys(bundle).filter((f) => /\.(js|css|html|svg)$/.test(f));
      await Promise.all(
        files.map(async (file) => {
          const path = join(options.dir!, file);
          const data = await readFile(path);
          await writeFile(`${path}.gz`, gzipSync(data, { level: 9 }));
          await writeFile(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        }),
      );
    },
  };
}

export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [trustedDocumentsManifest(), precompress()],
  build: { target: 'es2022', sourcemap: false },
  server: {
    proxy: { '/graphql': { target: SERVER, ws: true }, '/images': SERVER },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
