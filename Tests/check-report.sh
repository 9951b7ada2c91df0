#!/usr/bin/env bash
# check-report.sh — `make check-report`: renders a small batch with `gen batch --report` and opens
# the report in headless Chromium (Debian package `chromium`). A copy of index.html with a checker
# script appended (check.html, same folder, so the same relative URLs) waits for every <audio> to
# load its metadata and every <img> to decode, then writes PASS or the failures into the page,
# which --dump-dom prints. The report itself stays script-free. Finally a screenshot of the real
# page goes to OUT/screenshot.png. Output names with a space, '#' and non-ASCII letters check the
# URL encoding; a music line is added when the music models are installed.
#
# usage: Tests/check-report.sh [GEN] [OUT]     (defaults: .build/release/gen, out/check-report)
set -euo pipefail
GEN=${1:-.build/release/gen}
OUT=${2:-out/check-report}
CHROMIUM=${CHROMIUM:-chromium}

rm -rf "$OUT" && mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cat > "$OUT/batch.jsonl" <<'EOF'
{"kind":"speech","text":"This report was rendered by gen batch and checked in headless Chromium.","voice":"slt","out":"report-slt.wav"}
{"kind":"speech","text":"A file name with a space and a hash sign.","voice":"rms","out":"with space #2.wav"}
{"kind":"speech","text":"Names with accents, and files in sub folders, work too.","voice":"awb","out":"voix/été.wav"}
EOF
if "$GEN" models | grep -q '^prior'; then
  if ! "$GEN" models | grep -A1 '^prior' | grep -q 'not installed'; then
    echo '{"kind":"music","genre":"jazz","artist":"The Velvet Quartet","lyrics":"Walking down the avenue","duration":6,"out":"music/jazz.wav"}' >> "$OUT/batch.jsonl"
  fi
fi
items=$(wc -l < "$OUT/batch.jsonl")

"$GEN" batch "$OUT/batch.jsonl" --out-dir "$OUT/report" --report --jobs 2

REPORT="$OUT/report/index.html"
{
  sed '/<\/body>/,$d' "$REPORT"
  cat <<'EOF'
<script>
(function () {
  var audios = Array.prototype.slice.call(document.querySelectorAll('audio'));
  var images = Array.prototype.slice.call(document.images);
  var problems = [], pending = audios.length + images.length, reported = false;
  function finish(note) {
    if (reported) return; reported = true;
    var r = document.createElement('pre'); r.id = 'check-result';
    r.textContent = (problems.length || note ? 'CHECK FAIL ' + (note || '') + '\n' + problems.join('\n') : 'CHECK PASS')
      + '\naudio ' + audios.length + ' images ' + images.length;
    document.body.appendChild(r);
  }
  function settle(el, problem) { if (el.dataset.checked) return; el.dataset.checked = '1'; if (problem) problems.push(problem); if (--pending === 0) finish(); }
  audios.forEach(function (a) {
    function ok() { settle(a, a.duration > 0 ? null : 'audio ' + a.src + ': duration ' + a.duration); }
    a.addEventListener('loadedmetadata', ok);
    a.addEventListener('error', function () { settle(a, 'audio ' + a.src + ': media error ' + (a.error && a.error.code)); });
    if (a.readyState >= 1) ok(); else a.load();
  });
  images.forEach(function (i) {
    function check() { settle(i, i.naturalWidth > 0 && i.naturalHeight > 0 ? null : 'image ' + i.src + ' did not load'); }
    if (i.complete) check(); else { i.addEventListener('load', check); i.addEventListener('error', check); }
  });
  if (pending === 0) finish();
  setTimeout(function () { finish('timeout: ' + pending + ' media still loading'); }, 15000);
})();
</script>
</body>
</html>
EOF
} > "$OUT/report/check.html"

FLAGS=(--headless --no-sandbox --disable-gpu --no-first-run --allow-file-access-from-files --mute-audio
       --user-data-dir="$OUT/chromium-profile")
"$CHROMIUM" "${FLAGS[@]}" --virtual-time-budget=20000 --dump-dom "file://$OUT/report/check.html" \
  > "$OUT/dom.html" 2> "$OUT/chromium.log" || true
result=$(sed -n '/<pre id="check-result">/,/<\/pre>/p' "$OUT/dom.html" | sed 's/<[^>]*>//g')
"$CHROMIUM" "${FLAGS[@]}" --hide-scrollbars --window-size=1100,$((300 + items * 320)) --screenshot="$OUT/screenshot.png" \
  "file://$OUT/report/index.html" >> "$OUT/chromium.log" 2>&1 || true

echo "$result"
if [ -z "$result" ]; then
  echo "error: Chromium produced no check result; see $OUT/chromium.log" >&2; exit 1
fi
if ! grep -q '^CHECK PASS' <<< "$result" || ! grep -q "^audio $items images $items\$" <<< "$result"; then
  echo "error: the report failed the browser check (expected $items players and $items spectrograms)" >&2; exit 1
fi
[ -s "$OUT/screenshot.png" ] || { echo "error: no screenshot; see $OUT/chromium.log" >&2; exit 1; }
echo "report OK in $($CHROMIUM --version 2>/dev/null | head -1): $items players and $items spectrograms load"
echo "screenshot: $OUT/screenshot.png   report: $OUT/report/index.html"
