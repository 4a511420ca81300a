// Builds the operations screen into src/hyperville/web/static/ (committed: pip and CI need
// no npm). build.json records a hash of the sources so a test can tell a stale bundle.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const out = join(here, '..', 'src', 'hyperville', 'web', 'static');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: join(here, 'src', 'main.js') },
  bundle: true, format: 'esm', minify: true, target: 'es2022', outdir: out,
  legalComments: 'linked', logLevel: 'warning', sourcemap: false,
});
await build({
  entryPoints: { app: join(here, 'src', 'style.css') },
  bundle: true, minify: true, outdir: out, logLevel: 'warning', loader: { '.svg': 'dataurl', '.png': 'dataurl' },
});
copyFileSync(join(here, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl-worker.mjs'),
  join(out, 'maplibre-gl-worker.mjs'));

// the same hash as tests/web/test_ui.py computes: sha256 over "path\0content\0" of the inputs
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]);
}
const inputs = [...files(join(here, 'src')), join(here, 'build.mjs'), join(here, 'package.json'),
  join(here, 'package-lock.json')].map((f) => relative(here, f).split('\\').join('/')).sort();
const hash = createHash('sha256');
for (const f of inputs) { hash.update(`${f}\0`); hash.update(readFileSync(join(here, f))); hash.update('\0'); }
writeFileSync(join(out, 'build.json'), `${JSON.stringify({ hash: hash.digest('hex'), inputs }, null, 1)}\n`);
console.log(`built ${relative(process.cwd(), out)}`);
