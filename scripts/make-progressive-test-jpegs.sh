#!/usr/bin/env bash
# Regenerates the small progressive JPEGs that tests/MobileNet.Inference.Tests/Resources/progressive holds: one synthetic
# 333x251 picture (smooth gradients and noise; sizes that are no multiple of 8 or 16), encoded by libjpeg-turbo's cjpeg
# at several chroma samplings and made progressive by jpegtran with its default and with hand-written scan scripts
# (DC split over successive-approximation scans, interleaved and not; chroma AC split by band and refined twice), with
# and without restart intervals.
# Needs cjpeg and jpegtran (Debian: libjpeg-turbo-progs, installed when missing).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$REPO_ROOT/tests/MobileNet.Inference.Tests/Resources/progressive"
if ! command -v cjpeg >/dev/null || ! command -v jpegtran >/dev/null; then
  apt-get install -y --no-install-recommends libjpeg-turbo-progs >/dev/null
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

python3 - "$work/picture.ppm" <<'PY'
import math, random, sys
w, h = 333, 251
random.seed(8)
rows = bytearray()
for y in range(h):
    for x in range(w):
        r = 128 + 100 * math.sin(x / 23.0) * math.cos(y / 31.0) + random.randint(-20, 20)
        g = 255 * x / w + random.randint(-10, 10)
        b = 255 * y / h + 40 * math.sin((x + y) / 9.0)
        rows += bytes(max(0, min(255, int(v))) for v in (r, g, b))
with open(sys.argv[1], 'wb') as f:
    f.write(b'P6\n%d %d\n255\n' % (w, h) + rows)
PY

cat > "$work/split-dc.txt" <<'SCANS'
0: 0 0 0 2;
1: 0 0 0 1;
2: 0 0 0 1;
0: 1 63 0 0;
0: 0 0 2 1;
1: 1 63 0 0;
2: 1 63 0 0;
0: 0 0 1 0;
1 2: 0 0 1 0;
SCANS

cat > "$work/chroma-split.txt" <<'SCANS'
0 1 2: 0 0 0 1;
0: 1 63 0 0;
1: 1 2 0 2;
1: 3 63 0 2;
2: 1 63 0 2;
1: 1 63 2 1;
2: 1 63 2 1;
1: 1 63 1 0;
2: 1 63 1 0;
0 1 2: 0 0 1 0;
SCANS

encode() { # NAME CJPEG-OPTIONS... -- JPEGTRAN-OPTIONS...
  local name=$1; shift
  local cjpeg=() jpegtran=()
  while [[ $1 != -- ]]; do cjpeg+=("$1"); shift; done; shift
  jpegtran=("$@")
  cjpeg -quality 90 "${cjpeg[@]}" -outfile "$work/$name.baseline.jpg" "$work/picture.ppm"
  jpegtran -copy all "${jpegtran[@]}" -outfile "$out/$name.jpg" "$work/$name.baseline.jpg"
}

encode p444 -sample 1x1 -- -progressive
encode p422 -sample 2x1 -- -progressive
encode p440 -sample 1x2 -- -progressive
encode p411 -sample 4x1 -- -progressive
encode p420 -sample 2x2 -- -progressive
encode p410 -sample 4x2 -- -progressive
encode grey -grayscale -- -progressive
encode p444-restart-rows -sample 1x1 -- -progressive -restart 1
encode p422-restart-blocks -sample 2x1 -- -progressive -restart 5B
encode p444-split-dc -sample 1x1 -- -scans "$work/split-dc.txt"
encode p422-split-dc-restart -sample 2x1 -- -scans "$work/split-dc.txt" -restart 3B
encode p420-restart -sample 2x2 -- -progressive -restart 7B
encode p420-chroma-split -sample 2x2 -- -scans "$work/chroma-split.txt"
encode p420-chroma-split-restart -sample 2x2 -- -scans "$work/chroma-split.txt" -restart 1
ls -l "$out"
