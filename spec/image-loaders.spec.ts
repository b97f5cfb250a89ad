import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import { decodeImage, encodePng, detectImageFormat, type RGBAImage } from '../loaders/image.ts';
import { preprocessImage, resizeBilinear, resizeAntialias } from '../loaders/preprocess.ts';
import { readNpy, writeNpy } from '../loaders/npy.ts';
import { readIdx, isGzip } from '../loaders/idx.ts';
import { InputFormatError, ShapeError } from '../engine/errors.ts';

const DATA = '/work/shared/data';
const IMAGES = join(DATA, 'images');

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listImages(p));
    else if (/\.(png|jpe?g|jfif)$/i.test(name)) out.push(p);
  }
  return out.sort();
}

function bytesOf(p: string): Uint8Array {
  const b = readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function expectInputError(fn: () => unknown, fileName: string, pattern?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'should throw').to.be.instanceOf(InputFormatError);
  const msg = (err as Error).message;
  expect(msg).to.include(fileName);
  if (pattern) expect(msg).to.match(pattern);
}

function image(width: number, height: number, px: (x: number, y: number) => [number, number, number, number?]): RGBAImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = px(x, y);
      data.set([r, g, b, a ?? 255], (y * width + x) * 4);
    }
  return { width, height, data };
}

/** Hand-built npy file: any header version, descr and raw data bytes. */
function npyBytes(major: number, header: string, data: Uint8Array): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let h = header;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  out.set(data, pre + h.length);
  return out;
}

describe('image loaders', () => {
  describe('decodeImage', () => {
    const files = listImages(IMAGES);
    it('finds the sample images', () => {
      expect(files.length).to.be.at.least(10);
      expect(files.some((f) => f.endsWith('.jfif'))).to.equal(true);
    });
    for (const f of files) {
      it(`decodes ${f.slice(IMAGES.length + 1)}`, () => {
        const bytes = bytesOf(f);
        const img = decodeImage(bytes, basename(f));
        expect(img.width).to.be.within(32, 8192);
        expect(img.height).to.be.within(32, 8192);
        expect(img.data.length).to.equal(img.width * img.height * 4);
        // el1.png and el2.png are JPEGs despite their names: the format comes from the magic bytes.
        const jpegNamedPng = /el[12]\.png$/.test(f);
        expect(detectImageFormat(bytes)).to.equal(f.endsWith('.png') && !jpegNamedPng ? 'png' : 'jpeg');
        // Not all one colour: some real content was decoded.
        let min = 255;
        let max = 0;
        for (let i = 0; i < img.data.length; i += 4) {
          min = Math.min(min, img.data[i + 1]);
          max = Math.max(max, img.data[i + 1]);
        }
        expect(max - min).to.be.greaterThan(50);
      });
    }
    it('decodes the .jfif as a JPEG by its magic bytes', () => {
      const bytes = bytesOf(join(IMAGES, 'pytorch-grad-cam/dog_cat.jfif'));
      expect(detectImageFormat(bytes)).to.equal('jpeg');
    });

    it('PNG round trip is exact', () => {
      const img = image(17, 13, (x, y) => [(x * 37 + y * 11) & 255, (x * y * 7) & 255, (x + 3 * y) & 255, (200 + x + y) & 255]);
      const png = encodePng(img);
      expect(detectImageFormat(png)).to.equal('png');
      const back = decodeImage(png, 'rt.png');
      expect(back.width).to.equal(17);
      expect(back.height).to.equal(13);
      expect(Array.from(back.data)).to.deep.equal(Array.from(img.data));
    });

    it('normalises a 16-bit greyscale PNG to 8-bit RGBA', () => {
      const { PNG } = pngjs;
      const p = new PNG({ width: 4, height: 2 });
      // pngjs takes 16-bit input as native-endian u16 RGBA when writing bitDepth 16.
      const u16 = new Uint16Array(8 * 4);
      for (let i = 0; i < 8; i++) u16.set([i * 30 * 257, i * 30 * 257, i * 30 * 257, 65535], i * 4);
      p.data = Buffer.from(u16.buffer);
      const bytes = PNG.sync.write(p, { colorType: 0, bitDepth: 16 });
      const img = decodeImage(new Uint8Array(bytes), 'grey16.png');
      expect(img.width).to.equal(4);
      for (let i = 0; i < 8; i++) {
        expect(img.data[i * 4]).to.be.closeTo(i * 30, 1);
        expect(img.data[i * 4 + 1]).to.equal(img.data[i * 4]);
        expect(img.data[i * 4 + 3]).to.equal(255);
      }
    });

    it('encodePng rejects data of the wrong length', () => {
      expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) })).to.throw(ShapeError);
    });
  });

  describe('bad image input', () => {
    it('a text file', () => {
      const bytes = bytesOf(join(IMAGES, 'PROVENANCE.md'));
      expectInputError(() => decodeImage(bytes, 'PROVENANCE.md'), 'PROVENANCE.md', /not a PNG or JPEG image/);
    });
    it('an empty file', () => {
      expectInputError(() => decodeImage(new Uint8Array(0), 'empty.png'), 'empty.png', /not a PNG or JPEG image/);
    });
    it('a truncated PNG (first 100 bytes)', () => {
      const bytes = bytesOf(join(IMAGES, 'pytorch-cnn-visualizations/snake.png')).slice(0, 100);
      expectInputError(() => decodeImage(bytes, 'snake.png'), 'snake.png', /cannot decode PNG: /);
    });
    it('a PNG cut in half', () => {
      const full = bytesOf(join(IMAGES, 'pytorch-cnn-visualizations/snake.png'));
      expectInputError(() => decodeImage(full.slice(0, full.length >> 1), 'snake.png'), 'snake.png', /cannot decode PNG: /);
    });
    for (const frac of [0.01, 0.5, 0.99]) {
      it(`a truncated JPEG (${frac * 100}% of it)`, () => {
        const full = bytesOf(join(IMAGES, 'caffe/cat.jpg'));
        const bytes = full.slice(0, Math.floor(full.length * frac));
        expectInputError(() => decodeImage(bytes, 'cat.jpg'), 'cat.jpg', /cannot decode JPEG: /);
      });
    }
  });

  describe('preprocessImage', () => {
    // 2x1 image: pixel 0 = (10, 20, 30), pixel 1 = (100, 150, 200); alpha is ignored.
    const img = image(2, 1, (x) => (x === 0 ? [10, 20, 30, 0] : [100, 150, 200, 128]));

    it('RGB, no mean, no scale: raw 0..255 values in CHW order', () => {
      const t = preprocessImage(img, { channels: 3 });
      expect(Array.from(t)).to.deep.equal([10, 100, 20, 150, 30, 200]);
    });
    it('BGR order, mean in network channel order, then scale', () => {
      const t = preprocessImage(img, { channels: 3, bgr: true, mean: [1, 2, 3], scale: 0.5 });
      // channel 0 is blue: (30-1)*0.5, (200-1)*0.5; channel 1 green: (20-2)*.5 ...; channel 2 red: (10-3)*.5 ...
      expect(Array.from(t)).to.deep.equal([14.5, 99.5, 9, 74, 3.5, 48.5]);
    });
    it('single mean value applies to all channels', () => {
      const t = preprocessImage(img, { channels: 3, mean: [10], scale: 2 });
      expect(Array.from(t)).to.deep.equal([0, 180, 20, 280, 40, 380]);
    });
    it('greyscale for one channel (BT.601 luma), then mean and scale', () => {
      const t = preprocessImage(img, { channels: 1, mean: [5], scale: 1 / 255 });
      const l0 = 0.299 * 10 + 0.587 * 20 + 0.114 * 30;
      const l1 = 0.299 * 100 + 0.587 * 150 + 0.114 * 200;
      expect(t.length).to.equal(2);
      expect(t[0]).to.be.closeTo((l0 - 5) / 255, 1e-6);
      expect(t[1]).to.be.closeTo((l1 - 5) / 255, 1e-6);
    });
    it('grayscale flag with three channels repeats luma', () => {
      const t = preprocessImage(img, { channels: 3, grayscale: true });
      const l1 = 0.299 * 100 + 0.587 * 150 + 0.114 * 200;
      expect(t[1]).to.be.closeTo(l1, 1e-4);
      expect(t[3]).to.be.closeTo(l1, 1e-4);
      expect(t[5]).to.be.closeTo(l1, 1e-4);
    });
    it('resizes to p.size (H, W)', () => {
      const big = image(40, 30, () => [50, 60, 70]);
      const t = preprocessImage(big, { channels: 3, size: [7, 9], bgr: true });
      expect(t.length).to.equal(3 * 7 * 9);
      for (let i = 0; i < 63; i++) {
        expect(t[i]).to.be.closeTo(70, 1e-4);
        expect(t[63 + i]).to.be.closeTo(60, 1e-4);
        expect(t[126 + i]).to.be.closeTo(50, 1e-4);
      }
    });
    it('rejects bad channel counts and mean lengths', () => {
      expect(() => preprocessImage(img, { channels: 4 })).to.throw(ShapeError);
      expect(() => preprocessImage(img, { channels: 3, mean: [1, 2] })).to.throw(ShapeError);
    });
    it('preprocesses a real photo to 227x227 with the Caffe mean', () => {
      const photo = decodeImage(bytesOf(join(IMAGES, 'caffe/cat.jpg')), 'cat.jpg');
      const t = preprocessImage(photo, { channels: 3, size: [227, 227], bgr: true, mean: [104, 117, 123] });
      expect(t.length).to.equal(3 * 227 * 227);
      expect(t.every((v) => Number.isFinite(v) && v >= -123.001 && v <= 255)).to.equal(true);
    });
  });

  describe('resize', () => {
    const a2x2 = new Float32Array([0, 1, 2, 3]);
    // Half-pixel centres: output coords map to source -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    const coords = [0, 0.25, 0.75, 1];
    const expected = coords.flatMap((sy) => coords.map((sx) => 2 * sy + sx));

    it('resizeBilinear 2x2 -> 4x4 matches hand-computed values', () => {
      const out = resizeBilinear(a2x2, 1, 2, 2, 4, 4);
      expect(Array.from(out)).to.deep.equal(expected);
    });
    it('resizeAntialias (PIL bilinear) equals plain bilinear when enlarging', () => {
      const out = resizeAntialias(a2x2, 1, 2, 2, 4, 4);
      for (let i = 0; i < 16; i++) expect(out[i]).to.be.closeTo(expected[i], 1e-6);
    });
    it('a constant map stays constant (both resizes, up and down, several channels)', () => {
      const src = new Float32Array(2 * 13 * 17);
      src.fill(3.5, 0, 13 * 17);
      src.fill(-7, 13 * 17);
      for (const [oh, ow] of [[5, 6], [40, 3], [13, 17], [100, 101]]) {
        for (const f of [resizeBilinear, resizeAntialias]) {
          const out = f(src, 2, 13, 17, oh, ow);
          expect(out.length).to.equal(2 * oh * ow);
          for (let i = 0; i < oh * ow; i++) {
            expect(out[i]).to.be.closeTo(3.5, 1e-5);
            expect(out[oh * ow + i]).to.be.closeTo(-7, 1e-5);
          }
        }
      }
    });
    it('same size is a copy', () => {
      const out = resizeBilinear(a2x2, 1, 2, 2, 2, 2);
      expect(Array.from(out)).to.deep.equal([0, 1, 2, 3]);
      expect(out).to.not.equal(a2x2);
    });
    it('antialiased shrink of a checkerboard gives about mean grey; plain bilinear aliases', () => {
      const n = 64;
      const src = new Float32Array(n * n);
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) src[y * n + x] = (x + y) % 2 ? 255 : 0;
      const aa = resizeAntialias(src, 1, n, n, 10, 10);
      for (const v of aa) expect(v).to.be.closeTo(127.5, 8);
      const plain = resizeBilinear(src, 1, n, n, 10, 10);
      const spread = Math.max(...plain) - Math.min(...plain);
      expect(spread).to.be.greaterThan(100);
    });
    it('antialiased shrink by an integer factor averages blocks of a smooth image', () => {
      // A linear ramp stays a linear ramp, sampled at the output pixel centres.
      const src = new Float32Array(32 * 32);
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) src[y * 32 + x] = x;
      const out = resizeAntialias(src, 1, 32, 32, 4, 4);
      // Interior columns: centre of output x is at source 8x+3.5 (inner two are unaffected by the edges).
      expect(out[1]).to.be.closeTo(11.5, 1e-4);
      expect(out[2]).to.be.closeTo(19.5, 1e-4);
    });
    it('rejects a map of the wrong length', () => {
      expect(() => resizeBilinear(new Float32Array(5), 1, 2, 2, 4, 4)).to.throw(ShapeError);
    });
  });

  describe('npy', () => {
    it('round trip <f4', () => {
      const data = new Float32Array([1.5, -2, 3.25, 0, 1e-8, 6e20]);
      const bytes = writeNpy([2, 3], data);
      const header = new TextDecoder('latin1').decode(bytes.subarray(10, bytes.length - 24));
      expect((10 + header.length) % 64).to.equal(0);
      expect(header.endsWith('\n')).to.equal(true);
      expect(header).to.include("'descr': '<f4'");
      const back = readNpy(bytes, 'a.npy');
      expect(back.shape).to.deep.equal([2, 3]);
      expect(Array.from(back.data)).to.deep.equal(Array.from(data));
    });
    it('round trip <i4, |u1, 1-d and 0-d shapes', () => {
      const i4 = writeNpy([4], new Int32Array([-5, 0, 7, 123456]));
      expect(new TextDecoder('latin1').decode(i4.subarray(10, 64))).to.include("'descr': '<i4'").and.include("'shape': (4,)");
      const r = readNpy(i4, 'i.npy');
      expect(r.shape).to.deep.equal([4]);
      expect(Array.from(r.data)).to.deep.equal([-5, 0, 7, 123456]);
      const u1 = readNpy(writeNpy([1, 2, 2], new Uint8Array([0, 255, 9, 1])), 'u.npy');
      expect(u1.shape).to.deep.equal([1, 2, 2]);
      expect(Array.from(u1.data)).to.deep.equal([0, 255, 9, 1]);
      const scalar = readNpy(writeNpy([], new Float32Array([42])), 's.npy');
      expect(scalar.shape).to.deep.equal([]);
      expect(Array.from(scalar.data)).to.deep.equal([42]);
    });
    it('writeNpy checks the shape', () => {
      expect(() => writeNpy([2, 2], new Float32Array(3))).to.throw(ShapeError);
    });
    it('reads a hand-written v1.0 <f8 file', () => {
      const raw = new Uint8Array(3 * 8);
      const dv = new DataView(raw.buffer);
      [0.1, -2.5, 1e300].forEach((v, i) => dv.setFloat64(8 * i, v, true));
      const r = readNpy(npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", raw), 'f8.npy');
      expect(r.shape).to.deep.equal([3]);
      expect(r.data[0]).to.equal(Math.fround(0.1));
      expect(r.data[1]).to.equal(-2.5);
      expect(r.data[2]).to.equal(Infinity);
    });
    it('reads a hand-written big-endian >f4 file', () => {
      const raw = new Uint8Array(4 * 4);
      const dv = new DataView(raw.buffer);
      [1, -0.5, 3.75, 1024].forEach((v, i) => dv.setFloat32(4 * i, v, false));
      const r = readNpy(npyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", raw), 'be.npy');
      expect(r.shape).to.deep.equal([2, 2]);
      expect(Array.from(r.data)).to.deep.equal([1, -0.5, 3.75, 1024]);
    });
    it('reads v2.0 and v3.0 headers and <i8, <u2 data', () => {
      const i8 = new Uint8Array(16);
      new DataView(i8.buffer).setBigInt64(0, -3n, true);
      new DataView(i8.buffer).setBigInt64(8, 1n << 40n, true);
      const r = readNpy(npyBytes(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", i8), 'i8.npy');
      expect(Array.from(r.data)).to.deep.equal([-3, 2 ** 40]);
      const u2 = new Uint8Array([1, 0, 0xff, 0xff]);
      const r2 = readNpy(npyBytes(3, '{"descr": "<u2", "fortran_order": False, "shape": (1, 2)}', u2), 'u2.npy');
      expect(r2.shape).to.deep.equal([1, 2]);
      expect(Array.from(r2.data)).to.deep.equal([1, 65535]);
    });
    it('reads the ILSVRC 2012 mean (3x256x256, BGR means ~104, 116.7, 122.7)', () => {
      const r = readNpy(bytesOf(join(DATA, 'caffe/reference_prototxt/ilsvrc_2012_mean.npy')), 'ilsvrc_2012_mean.npy');
      expect(r.shape).to.deep.equal([3, 256, 256]);
      const plane = 256 * 256;
      const means = [0, 1, 2].map((c) => r.data.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
      expect(means[0]).to.be.closeTo(104.0, 0.5);
      expect(means[1]).to.be.closeTo(116.7, 0.5);
      expect(means[2]).to.be.closeTo(122.7, 0.5);
    });
    it('bad npy input throws InputFormatError naming the file', () => {
      const good = writeNpy([10, 10], new Float32Array(100));
      expectInputError(() => readNpy(good.slice(0, good.length - 4), 'trunc.npy'), 'trunc.npy', /truncated/);
      expectInputError(() => readNpy(good.slice(0, 30), 'head.npy'), 'head.npy', /truncated/);
      expectInputError(() => readNpy(new TextEncoder().encode('hello world, not numpy'), 'text.npy'), 'text.npy', /bad magic/);
      const fortran = npyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16));
      expectInputError(() => readNpy(fortran, 'fortran.npy'), 'fortran.npy', /Fortran/);
      const complex = npyBytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8));
      expectInputError(() => readNpy(complex, 'c8.npy'), 'c8.npy', /dtype/);
    });
  });

  describe('idx', () => {
    it('reads the MNIST t10k images and labels', () => {
      const gzImages = bytesOf(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz'));
      expect(isGzip(gzImages)).to.equal(true);
      expectInputError(() => readIdx(gzImages, 't10k-images-idx3-ubyte.gz'), 't10k-images-idx3-ubyte.gz', /gzip-compressed: decompress first/);
      const images = readIdx(new Uint8Array(gunzipSync(gzImages)), 't10k-images-idx3-ubyte');
      expect(images.dims).to.deep.equal([10000, 28, 28]);
      expect(images.data.length).to.equal(10000 * 28 * 28);
      const labels = readIdx(new Uint8Array(gunzipSync(bytesOf(join(DATA, 'mnist/t10k-labels-idx1-ubyte.gz')))), 't10k-labels');
      expect(labels.dims).to.deep.equal([10000]);
      expect(labels.data[0]).to.equal(7);
      expect(Math.max(...labels.data)).to.equal(9);
      // The first digit has ink in its middle and blank corners.
      expect(images.data[0]).to.equal(0);
      expect(Math.max(...images.data.subarray(0, 784))).to.be.greaterThan(200);
    });
    it('bad idx input', () => {
      expectInputError(() => readIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2]), 'short.idx'), 'short.idx', /truncated/);
      expectInputError(() => readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), 'short2.idx'), 'short2.idx', /truncated/);
      expectInputError(() => readIdx(new TextEncoder().encode('text'), 'text.idx'), 'text.idx', /bad magic/);
      expect(isGzip(new Uint8Array([0, 0, 8, 1]))).to.equal(false);
    });
  });
});
