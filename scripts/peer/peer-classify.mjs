// The peer pipeline of scripts/bench-peer.sh: what a user would write with sharp (libvips, shrink-on-load JPEG
// decoding) and onnxruntime-node. Same preprocessing as torchvision and mobilenet classify (shorter side to 256,
// center crop 224, ImageNet mean/std, NCHW), the same batch size and threads, decoding overlapped with inference.
//
//   node peer-classify.mjs --model m.onnx --labels classes.txt [--batch 8] [--threads N] [--top-k 5] DIR
//
// Writes one CSV row per image (image,label1,score1,...) to stdout; errors as image,error,reason.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, extname } from 'node:path';
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { parseOptions } from './cli-options.mjs';

const { args, option } = parseOptions();
const model = option('--model');
const labelsPath = option('--labels');
const batchSize = Number(option('--batch', '8'));
const threads = Number(option('--threads', String(availableParallelism())));
const topK = Number(option('--top-k', '5'));
const dir = args[0];
if (!model || !labelsPath || !dir) {
  console.error('usage: node peer-classify.mjs --model m.onnx --labels classes.txt [--batch 8] [--threads N] DIR');
  process.exit(2);
}

const size = 224, resizeTo = 256;
const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
const extensions = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.tif', '.tiff', '.webp']);
const labels = readFileSync(labelsPath, 'utf8').split('\n');

const walk = (folder) => readdirSync(folder).sort().flatMap((name) => {
  const path = join(folder, name);
  return statSync(path).isDirectory() ? walk(path) : extensions.has(extname(name).toLowerCase()) ? [path] : [];
});
const files = walk(dir);

// Its best settings: libvips threads shared by the images in flight, no operation cache (each file is read once),
// ONNX Runtime with every graph optimisation and the given intra-op threads, and the same int8 kernels as classify:
// U8U8 (exact) on x64 CPUs without VNNI, whose default U8S8 kernels saturate; the faster default where VNNI is exact.
sharp.cache(false);
sharp.concurrency(1);
const cpuFlags = (() => { try { return readFileSync('/proc/cpuinfo', 'utf8'); } catch { return ''; } })();
const needsU8U8 = process.arch === 'x64' && !/\b(avx_vnni|avx512_vnni)\b/.test(cpuFlags);
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  extra: { session: { ...(needsU8U8 ? { x64quantprecision: '1' } : {}), 'intra_op.allow_spinning': '0' } },
});
const [inputName] = session.inputNames;
const [outputName] = session.outputNames;

async function preprocess(file) {
  const image = sharp(file, { failOn: 'error' }).rotate(); // EXIF orientation
  const { width, height, orientation } = await image.metadata();
  const [w, h] = orientation >= 5 ? [height, width] : [width, height];
  const [rw, rh] = w <= h ? [resizeTo, Math.floor(resizeTo * h / w)] : [Math.floor(resizeTo * w / h), resizeTo];
  const left = Math.round((rw - size) / 2), top = Math.round((rh - size) / 2);
  const { data } = await image
    .resize(rw, rh, { fit: 'fill', kernel: 'linear' })
    .extract({ left, top, width: size, height: size })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const tensor = new Float32Array(3 * size * size);
  const plane = size * size;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) tensor[c * plane + i] = (data[i * 3 + c] / 255 - mean[c]) / std[c];
  }
  return tensor;
}

function top(logits, offset, classes) {
  let max = -Infinity;
  for (let i = 0; i < classes; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  const scores = new Float64Array(classes);
  for (let i = 0; i < classes; i++) sum += (scores[i] = Math.exp(logits[offset + i] - max));
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, topK).map((i) => [labels[i], scores[i] / sum]);
}

const out = [];
const inFlight = Math.max(2, threads * 2);
let next = 0;
const pending = [];
const start = () => {
  while (pending.length < inFlight && next < files.length) {
    const file = files[next++];
    pending.push(preprocess(file).then((tensor) => ({ file, tensor }), (error) => ({ file, error })));
  }
};
start();
while (pending.length > 0) {
  const batch = [];
  while (batch.length < batchSize && pending.length > 0) {
    const item = await pending.shift();
    start();
    if (item.error) out.push(`${relative(dir, item.file)},error,"${String(item.error.message).replaceAll('"', "'")}"`);
    else batch.push(item);
  }
  if (batch.length === 0) continue;
  const input = new Float32Array(batch.length * 3 * size * size);
  batch.forEach((item, i) => input.set(item.tensor, i * 3 * size * size));
  const result = await session.run({ [inputName]: new ort.Tensor('float32', input, [batch.length, 3, size, size]) });
  const logits = result[outputName].data;
  const classes = logits.length / batch.length;
  batch.forEach((item, i) => out.push(`${relative(dir, item.file)},${top(logits, i * classes, classes).map(([l, s]) => `"${l}",${s.toFixed(6)}`).join(',')}`));
}
process.stdout.write(out.join('\n') + '\n');
