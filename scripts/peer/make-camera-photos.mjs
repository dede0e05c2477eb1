// Makes camera-sized JPEGs (8-15 megapixels) from small photos, for benchmarks on large photos other than the
// fixtures: each source photo is resized (Lanczos) to a phone or camera sensor size, given sensor-like noise (so the
// file is as large and as costly to decode as a real photo of that size, not a smooth upscale), and encoded as a
// phone would (baseline, 4:2:0, quality 92) or, for every --progressive-every'th photo, as progressive 4:2:0.
//
//   node make-camera-photos.mjs SRC_DIR DST_DIR [--count 24] [--progressive-every 4] [--seed 1]
import { mkdirSync, readdirSync } from 'node:fs';
import { join, extname, basename } from 'node:path';
import sharp from 'sharp';
import { parseOptions } from './cli-options.mjs';

const { args, option } = parseOptions();
const count = Number(option('--count', '24'));
const progressiveEvery = Number(option('--progressive-every', '4'));
let seed = Number(option('--seed', '1'));
const [src, dst] = args;
if (!src || !dst || !(count > 0)) {
  console.error('usage: node make-camera-photos.mjs SRC_DIR DST_DIR [--count 24] [--progressive-every 4] [--seed 1]');
  process.exit(2);
}

// 8.0, 12.2 and 14.9 megapixels: an 8 MP phone, a 12 MP phone (4:3), a 15 MP camera; landscape and portrait.
const sizes = [[3264, 2448], [4032, 3024], [4464, 3348], [3024, 4032]];
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sources = readdirSync(src).filter((name) => ['.jpg', '.jpeg'].includes(extname(name).toLowerCase())).sort();
mkdirSync(dst, { recursive: true });
for (let i = 0; i < count; i++) {
  const name = sources[(i * 7) % sources.length];
  const [width, height] = sizes[i % sizes.length];
  const { data, info } = await sharp(join(src, name)).rotate().resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
    .removeAlpha().raw().toBuffer({ resolveWithObject: true });
  // Sensor noise: +-6 levels, a fresh value every other pixel (what demosaicing leaves).
  for (let p = 0; p < data.length; p += 6) {
    const n = Math.round((random() - 0.5) * 12);
    for (let k = 0; k < 6 && p + k < data.length; k++) data[p + k] = Math.max(0, Math.min(255, data[p + k] + n));
  }
  const progressive = progressiveEvery > 0 && i % progressiveEvery === progressiveEvery - 1;
  const out = join(dst, `${String(i).padStart(3, '0')}-${basename(name, extname(name))}-${width}x${height}${progressive ? '-progressive' : ''}.jpg`);
  await sharp(data, { raw: info }).jpeg({ quality: 92, chromaSubsampling: '4:2:0', progressive, mozjpeg: false }).toFile(out);
}
console.log(`wrote ${count} photos to ${dst}`);
