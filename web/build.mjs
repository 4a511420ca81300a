// Builds the operations screen into src/hyperville/web/static/ (committed: pip and CI need
// no npm). File names carry a hash of their content, so the server lets browsers cache them
// for a year; build.json maps the logical names to them and records a hash of the sources
// so a test can tell a stale bundle. Every text asset is also written precompressed (.gz,
// .br: Node's own zlib, no native dependency) for the server to answer with.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = new URL('.', import.meta.url).pathname;
const out = join(here, '..', 'src', 'hyperville', 'web', 'static');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// the script: the first render in app-*.js, the detail panel and the reports in lazy chunks
const script = await build({
  entryPoints: { app: join(here, 'src', 'main.js') },
  bundle: true, format: 'esm', splitting: true, minify: true, target: 'es2022', outdir: out,
  entryNames: '[name]-[hash]', chunkNames: '[name]-[hash]', legalComments: 'linked',
  logLevel: 'warning', sourcemap: false, metafile: true,
});
const style = await build({
  entryPoints: { app: join(here, 'src', 'style.css') },
  bundle: true, minify: true, outdir: out, entryNames: '[name]-[hash]', logLevel: 'warning',
  loader: { '.svg': 'dataurl', '.png': 'dataurl' }, metafile: true,
});
const entry = (meta, ext) => Object.keys(meta.outputs).find(
  (f) => meta.outputs[f].entryPoint && f.endsWith(ext));
// the chunks app-*.js imports statically: the page preloads them with the script
const appJs = entry(script.metafile, '.js');
const chunks = script.metafile.outputs[appJs].imports
  .filter((i) => i.kind === 'import-statement' && !i.external).map((i) => basename(i.path));

// MapLibre's worker, under a name that changes with its content
const worker = readFileSync(join(here, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl-worker.mjs'));
const workerName = `maplibre-gl-worker-${createHash('sha256').update(worker).digest('hex').slice(0, 8)}.mjs`;
writeFileSync(join(out, workerName), worker);

for (const name of readdirSync(out)) {
  if (!/\.(m?js|css)$/.test(name)) continue;
  const body = readFileSync(join(out, name));
  if (body.length < 1024) continue;
  writeFileSync(join(out, `${name}.gz`), gzipSync(body, { level: 9 }));
  writeFileSync(join(out, `${name}.br`), brotliCompressSync(body, { params: {
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_QUALITY]: 11,
    [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
  } }));
}

// the same hash as tests/web/test_ui.py computes: sha256 over "path\0content\0" of the inputs
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]);
}
const inputs = [...files(join(here, 'src')), join(here, 'build.mjs'), join(here, 'package.json'),
  join(here, 'package-lock.json')].map((f) => relative(here, f).split('\\').join('/')).sort();
const hash = createHash('sha256');
for (const f of inputs) { hash.update(`${f}\0`); hash.update(readFileSync(join(here, f))); hash.update('\0'); }
const assets = { 'app.js': basename(appJs), 'app.css': basename(entry(style.metafile, '.css')),
  worker: workerName };
writeFileSync(join(out, 'build.json'),
  `${JSON.stringify({ hash: hash.digest('hex'), assets, preload: chunks, inputs }, null, 1)}\n`);
console.log(`built ${relative(process.cwd(), out)}: ${Object.values(assets).join(', ')}`);
