// The web build: web/src/worker.js and every web/src/NAME/main.js, bundled and minified into
// bot/console/static/dist/ (worker.js, NAME.js), with manifest.json giving each file's SHA-384
// Subresource Integrity hash. The same sources and lockfile give the same bytes: no timestamps,
// no absolute paths, no source maps.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const src = join(here, 'src')
const out = join(here, '..', 'bot', 'console', 'static', 'dist')

const common = {
  bundle: true,
  minify: true,
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  charset: 'utf8',
  sourcemap: false,
  logLevel: 'warning',
  absWorkingDir: here,
}

const pages = readdirSync(src, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(src, entry.name, 'main.js')))
  .map((entry) => entry.name)
  .sort()

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

// The worker is a classic script (IIFE): it needs no module support from the browser.
await esbuild.build({ ...common, entryPoints: ['src/worker.js'], format: 'iife', outfile: join(out, 'worker.js') })
for (const page of pages) {
  await esbuild.build({ ...common, entryPoints: [`src/${page}/main.js`], format: 'esm', outfile: join(out, `${page}.js`) })
}

const manifest = {}
for (const name of ['worker.js', ...pages.map((page) => `${page}.js`)]) {
  const digest = createHash('sha384').update(readFileSync(join(out, name))).digest('base64')
  manifest[name] = `sha384-${digest}`
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
for (const [name, integrity] of Object.entries(manifest)) console.log(`${name}  ${integrity}`)
