#!/usr/bin/env bash
# Rebuild pico.min.css from Pico's own SCSS with only the modules that fieldsvc.scss keeps.
#
#   bash static/vendor/pico/build.sh
#
# Needs node and npm (and the npm registry) on the machine that rebuilds; the app, the tests and
# CI use the committed pico.min.css and never run this. The toolchain is Pico 2.1.1's own dist
# pipeline at pinned versions: sass (expanded), autoprefixer (browserslist "defaults" on a pinned
# caniuse-lite: the -webkit-/-moz- prefixes Safari and Firefox need, which sass alone does not
# write), then clean-css level 1. As a check, the same toolchain first rebuilds Pico's full
# css/pico.min.css and must match the published file byte for byte; then it builds ours.
# Afterwards run `python bench/css_screens.py`: every screenshot must be identical.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

PICO=2.1.1
SASS=1.85.1
POSTCSS=8.5.3
AUTOPREFIXER=10.4.21
BROWSERSLIST=4.24.4
CANIUSE_LITE=1.0.30001704
CLEAN_CSS=5.3.3

work=$(mktemp -d /tmp/fieldsvc-pico.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/package.json" <<EOF
{
  "private": true,
  "dependencies": {
    "@picocss/pico": "$PICO",
    "sass": "$SASS",
    "postcss": "$POSTCSS",
    "autoprefixer": "$AUTOPREFIXER",
    "browserslist": "$BROWSERSLIST",
    "caniuse-lite": "$CANIUSE_LITE",
    "clean-css": "$CLEAN_CSS"
  },
  "overrides": {"browserslist": "$BROWSERSLIST", "caniuse-lite": "$CANIUSE_LITE"}
}
EOF
echo "== npm install (into $work)"
(cd "$work" && npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error >/dev/null)

cat >"$work/build.js" <<'EOF'
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const sass = require("sass"), postcss = require("postcss"), autoprefixer = require("autoprefixer");
const CleanCSS = require("clean-css");
const [entry, out] = process.argv.slice(2);
const pico = path.join(__dirname, "node_modules/@picocss/pico");

async function build(compiled) {  // Pico's package.json: build:css, build:autoprefix, build:minify
  const prefixed = await postcss([autoprefixer({cascade: false, overrideBrowserslist: ["defaults"]})])
    .process(compiled.css, {from: undefined, map: false});
  const minified = new CleanCSS({level: 1}).minify(prefixed.css);
  if (minified.errors.length) throw new Error(minified.errors.join("\n"));
  return minified.styles;
}

(async () => {
  const options = {style: "expanded", loadPaths: [path.join(pico, "scss")]};
  const full = await build(sass.compileString('@use "pico";', options));
  if (full !== fs.readFileSync(path.join(pico, "css/pico.min.css"), "utf8")) {
    throw new Error("this toolchain no longer rebuilds Pico's own pico.min.css byte for byte: check the versions");
  }
  console.log(`full Pico rebuilt identical to the published css/pico.min.css (${Buffer.byteLength(full)} bytes)`);
  const source = fs.readFileSync(entry);
  const disabled = [...source.toString().matchAll(/^\s*"([a-z-]+\/[a-z-]+)":\s*false\b/gm)].map(m => m[1]);
  let css = await build(sass.compile(entry, options));
  const banner = css.indexOf("*/") + 2;
  const note = `/*! fieldsvc build (static/vendor/pico/build.sh) of fieldsvc.scss sha256:` +
    `${crypto.createHash("sha256").update(source).digest("hex")}, without ${disabled.join(", ")} */`;
  css = css.slice(0, banner) + note + css.slice(banner);
  fs.writeFileSync(out, css);
  console.log(`wrote ${out} (${Buffer.byteLength(css)} bytes; without ${disabled.length} modules)`);
})().catch(error => { console.error(error.message || error); process.exit(1); });
EOF
echo "== build"
BROWSERSLIST_IGNORE_OLD_DATA=1 node "$work/build.js" "$here/fieldsvc.scss" "$here/pico.min.css"

cat >"$here/VERSION" <<EOF
Pico CSS $PICO (@picocss/pico), MIT
pico.min.css is built by build.sh from fieldsvc.scss (only the modules the pages use) with
Pico's own pipeline: sass $SASS, postcss $POSTCSS, autoprefixer $AUTOPREFIXER (browserslist $BROWSERSLIST,
caniuse-lite $CANIUSE_LITE, "defaults"), clean-css $CLEAN_CSS (level 1).
EOF
echo "== done: now run python bench/css_screens.py (every screenshot must be identical)"
