"""PNG frames checked by an independent decoder (Python's zlib, standard library only).

`gradtrace frames` compresses each frame in row bands and, frame to frame, recompresses only
the bands that changed (the rest come from a cache). This test decodes every frame file with
zlib (which checks the Adler-32 the encoder combined from the bands' checksums) and its own
unfiltering, checks every chunk's CRC, and compares the pixels with `gradtrace render --step K`
of the same step (a single picture, compressed whole by libdeflate), and the bytes across
--jobs 1 and 2 and across runs.

Usage: python3 python/test_png_frames.py [GRADTRACE_BIN]
"""

import os
import struct
import subprocess
import sys
import tempfile
import zlib

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/gradtrace")


def decode(path, pixels=True):
    """(width, height, pixels as a list of rows of RGB bytes) of an 8-bit RGB or indexed PNG;
    with pixels=False, only checked (chunks, CRCs, the zlib stream, its length, filter types)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    i, idat, palette, ihdr, ended = 8, b"", None, None, False
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length:i + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in {kind!r}"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [tuple(body[k:k + 3]) for k in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            ended = True
        i += 12 + length
    assert ended and i == len(data), f"{path}: IEND missing or bytes after it"
    width, height, depth, colour, _, _, interlace = ihdr
    assert depth == 8 and colour in (2, 3) and interlace == 0, f"{path}: {ihdr}"
    d = zlib.decompressobj()
    raw = d.decompress(idat)
    assert d.eof and not d.unused_data, f"{path}: the zlib stream does not end where the IDAT data does"
    bpp = 3 if colour == 2 else 1
    stride = width * bpp
    assert len(raw) == height * (stride + 1), f"{path}: {len(raw)} bytes inflated"
    filters = {raw[y * (stride + 1)] for y in range(height)}
    assert filters <= {0, 1, 2, 3, 4}, f"{path}: filter types {filters}"
    if not pixels:
        return width, height, None
    rows, prev = [], bytearray(stride)
    table = [bytes(c) for c in palette] if palette else []
    for y in range(height):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride if f else 0):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                cur[x] = (cur[x] + a) & 255
            elif f == 2:
                cur[x] = (cur[x] + b) & 255
            elif f == 3:
                cur[x] = (cur[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[x] = (cur[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if colour == 2:
            rows.append(bytes(cur))
        else:
            rows.append(b"".join(table[k] for k in cur))
        prev = cur
    return width, height, rows


def run(*args):
    subprocess.run([BIN, *args], check=True, stdout=subprocess.DEVNULL)


def main():
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for sample, scale, steps in [("loss", "1", None), ("mlp-demo", "0.3", [0, 1, 2, 37, 150, 299, 300])]:
            src = os.path.join("samples", sample + ".grad")
            one, two, again = (os.path.join(tmp, f"{sample}-{k}") for k in ("j1", "j2", "again"))
            run("frames", src, "--scale", scale, "--jobs", "1", "-o", one)
            run("frames", src, "--scale", scale, "--jobs", "2", "-o", two)
            if sample == "loss":
                run("frames", src, "--scale", scale, "--jobs", "2", "-o", again)
            names = sorted(n for n in os.listdir(one) if n.endswith(".png"))
            assert len(names) > 2, f"{sample}: {names}"
            for n in names:
                a = open(os.path.join(one, n), "rb").read()
                assert a == open(os.path.join(two, n), "rb").read(), f"{sample}/{n}: --jobs 1 and 2 differ"
                if sample == "loss":
                    assert a == open(os.path.join(again, n), "rb").read(), f"{sample}/{n}: two runs differ"
            kinds = set()
            for k, n in enumerate(names):
                compare = steps is None or k in steps
                w, h, rows = decode(os.path.join(one, n), pixels=compare)
                kinds.add(open(os.path.join(one, n), "rb").read()[25])
                if compare:
                    still = os.path.join(tmp, f"{sample}-{k}.png")
                    run("render", src, "--step", str(k), "--scale", scale, "-o", still)
                    sw, sh, srows = decode(still)
                    assert (w, h) == (sw, sh), f"{sample}/{n}: {w}×{h}, render gives {sw}×{sh}"
                    bad = [y for y in range(h) if rows[y] != srows[y]]
                    assert not bad, f"{sample}/{n}: rows {bad[:5]}… differ from render --step {k}"
                checked += 1
            print(f"ok {sample}: {len(names)} frames decode (colour types {sorted(kinds)}), equal across --jobs{' and runs' if sample == 'loss' else ''}"
                  f"{'' if steps is None else f', steps {steps}'} equal render --step")
    print(f"{checked} frames checked")


if __name__ == "__main__":
    main()
