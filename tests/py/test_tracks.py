"""bedGraph / bigWig tracks (src/out/track.c) checked from outside: a naive dense
computation in numpy, `LC_ALL=C sort -c`, zcat / `bgzip -t`, and pyBigWig.

The C side is the test_track executable (next to the seqlift binary):
`test_track drive INPUT BEDGRAPH|none BIGWIG|none`, INPUT lines "O overlap width merge",
"C name size", "R chrom start end strand v0 v1 ..." (any order; the driver sorts the
regions with sl_track_sort_order and streams them through the writer).
"""
import gzip
import os
import struct
import subprocess
import tempfile
import unittest

import numpy as np
import pyBigWig

BUILD = os.path.dirname(os.environ.get("SEQLIFT", "build/seqlift"))
DRIVER = os.path.join(BUILD, "test_track")
TMP = os.environ.get("SEQLIFT_TMP", "build/test_tmp")
# not in byte order on purpose; names that sort differently as text and as numbers
CONTIGS = {"chr2": 700, "chr10": 400, "chrX": 350, "chr1_KI270706v1_random": 90}


def random_regions(seed, n=80):
    rng = np.random.default_rng(seed)
    names = list(CONTIGS)
    regs = []
    for i in range(n):
        c = names[rng.integers(len(names))]
        length = int(rng.integers(15, 70))
        start = int(rng.integers(-20, CONTIGS[c] + 10))  # some run off the contig ends
        strand = "-" if rng.random() < 0.5 else "+"
        v = (rng.integers(-3, 4, size=length) * 0.125 + rng.choice([0, 0.1], size=length)).astype(np.float32)
        v[rng.random(length) < 0.05] = np.nan  # N bases: no value
        regs.append((c, start, start + length, strand, v))
    return regs


def naive(regs, overlap, width):
    """dense per-base expected values (NaN = absent), by brute force"""
    out = {}
    order = sorted(range(len(regs)), key=lambda i: (regs[i][0].encode(), regs[i][1], regs[i][2], i))
    for c, size in CONTIGS.items():
        val = np.full(size, np.nan, dtype=np.float64)
        total = np.zeros(size)
        cnt = np.zeros(size, dtype=int)
        for i in order:
            rc, s, e, strand, v = regs[i]
            if rc != c:
                continue
            length = e - s
            lo, hi = 0, length
            if 0 < width < length:
                lo = (length - width) // 2
                hi = lo + width
            for p in range(length):
                g = e - 1 - p if strand == "-" else s + p
                if not (lo <= g - s < hi) or g < 0 or g >= size or np.isnan(v[p]):
                    continue
                x = float(v[p])
                if overlap == "mean":
                    total[g] += x
                elif overlap == "first" and cnt[g] == 0:
                    val[g] = x
                elif overlap == "max-abs" and (cnt[g] == 0 or abs(x) > abs(val[g])):
                    val[g] = x
                cnt[g] += 1
        if overlap == "mean":
            with np.errstate(invalid="ignore"):
                val = np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)
        out[c] = val.astype(np.float32)
    return out


def parse_bedgraph(text):
    rows = []
    for line in text.splitlines():
        f = line.split("\t")
        assert len(f) == 4, line
        rows.append((f[0], int(f[1]), int(f[2]), f[3]))
    return rows


def check_entries(test, rows, path):
    """order / overlap / coordinate checker"""
    seen = []
    for i, (c, s, e, t) in enumerate(rows):
        test.assertIn(c, CONTIGS)
        test.assertTrue(0 <= s < e <= CONTIGS[c], rows[i])
        float(t)
        if i and rows[i - 1][0] == c:
            test.assertLessEqual(rows[i - 1][2], s, "overlap or unsorted: %s %s" % (rows[i - 1], rows[i]))
        elif i:
            test.assertNotIn(c, seen, "contig %s not contiguous" % c)
            test.assertLess(rows[i - 1][0].encode(), c.encode())
        if not seen or seen[-1] != c:
            seen.append(c)
    env = dict(os.environ, LC_ALL="C")
    r = subprocess.run(["sort", "-c", "-k1,1", "-k2,2n", path], env=env, capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, r.stderr)


def dense_from_rows(rows):
    d = {c: np.full(n, np.nan, dtype=np.float32) for c, n in CONTIGS.items()}
    for c, s, e, t in rows:
        d[c][s:e] = np.float32(float(t))
    return d


class TracksTest(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="py_test_tracks.", dir=TMP)

    def path(self, name):
        return os.path.join(self.dir, name)

    def drive(self, regs, overlap="mean", width=0, merge=0, bg="t.bedGraph", bw="t.bw"):
        inp = self.path("in.txt")
        with open(inp, "w") as f:
            f.write("O %s %d %d\n" % (overlap, width, merge))
            for c, n in CONTIGS.items():
                f.write("C %s %d\n" % (c, n))
            for c, s, e, strand, v in regs:
                f.write("R %s %d %d %s %s\n" % (c, s, e, strand, " ".join("%.9g" % x for x in v)))
        bgp = self.path(bg) if bg else "none"
        bwp = self.path(bw) if bw else "none"
        r = subprocess.run([DRIVER, "drive", inp, bgp, bwp], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        leftovers = [f for f in os.listdir(self.dir) if ".tmp." in f]
        self.assertEqual(leftovers, [])
        return bgp, bwp

    def check_bigwig(self, bwp, rows):
        bw = pyBigWig.open(bwp)
        try:
            self.assertEqual(bw.chroms(), CONTIGS)
            h = bw.header()
            self.assertGreater(h["nLevels"], 0)  # zoom levels, for IGV
            self.assertEqual(h["nBasesCovered"], sum(e - s for _, s, e, _ in rows))
            # header chromosome order (IDs) = byte order of names, as the entries
            names = sorted(CONTIGS, key=str.encode)
            self.assertEqual(list(bw.chroms().keys()), names)  # pyBigWig lists them in file order
            for c in CONTIGS:
                want = [(s, e, np.float32(float(t))) for rc, s, e, t in rows if rc == c]
                got = bw.intervals(c) or ()
                self.assertEqual(len(got), len(want), c)
                for (gs, ge, gv), (ws, we, wv) in zip(got, want):
                    self.assertEqual((gs, ge), (ws, we))
                    self.assertEqual(np.float32(gv), wv)  # the same float as the text
            dense = dense_from_rows(rows)
            for c, n in CONTIGS.items():
                vals = np.array(bw.values(c, 0, n), dtype=np.float32)
                np.testing.assert_array_equal(vals, dense[c])  # NaN where absent
        finally:
            bw.close()
        # total summary (bigWigInfo's min/max) read from the file itself
        with open(bwp, "rb") as f:
            raw = f.read()
        off = struct.unpack_from("<Q", raw, 44)[0]
        covered, vmin, vmax = struct.unpack_from("<Qdd", raw, off)
        allv = [np.float32(float(t)) for *_, t in rows]
        self.assertEqual(covered, sum(e - s for _, s, e, _ in rows))
        if allv:
            self.assertEqual(np.float32(vmin), min(allv))
            self.assertEqual(np.float32(vmax), max(allv))

    def test_naive_every_option(self):
        for seed, overlap, width, merge in [
            (1, "mean", 0, 0), (2, "mean", 21, 0), (3, "max-abs", 0, 0), (4, "max-abs", 30, 1),
            (5, "first", 0, 0), (6, "first", 11, 1), (7, "mean", 0, 1),
        ]:
            with self.subTest(overlap=overlap, width=width, merge=merge):
                regs = random_regions(seed)
                bgp, bwp = self.drive(regs, overlap, width, merge)
                with open(bgp) as f:
                    rows = parse_bedgraph(f.read())
                self.assertGreater(len(rows), 100)
                check_entries(self, rows, bgp)
                got = dense_from_rows(rows)
                want = naive(regs, overlap, width)
                for c in CONTIGS:
                    np.testing.assert_allclose(got[c], want[c], rtol=1e-6, atol=1e-7, err_msg=c)
                    np.testing.assert_array_equal(np.isnan(got[c]), np.isnan(want[c]))
                for a, b in zip(rows, rows[1:]):
                    if not merge:
                        self.assertEqual(a[2] - a[1], 1)
                    elif a[0] == b[0] and a[2] == b[1]:
                        self.assertNotEqual(a[3], b[3])  # runs merged as far as they go
                    self.assertNotEqual(a[3], "-0")
                self.check_bigwig(bwp, rows)

    def test_minus_strand_known_positions(self):
        # model position p carries value p + 1: genome base end-1-p must show p + 1
        v = np.arange(1, 41, dtype=np.float32)
        bgp, bwp = self.drive([("chr10", 100, 140, "-", v), ("chr10", 200, 240, "+", v)])
        with open(bgp) as f:
            rows = parse_bedgraph(f.read())
        for c, s, e, t in rows:
            want = 139 - s + 1 if s < 140 else s - 200 + 1
            self.assertEqual(float(t), want)
        bw = pyBigWig.open(bwp)
        self.assertEqual(bw.values("chr10", 139, 140)[0], 1.0)
        self.assertEqual(bw.values("chr10", 100, 101)[0], 40.0)
        self.assertEqual(bw.values("chr10", 200, 201)[0], 1.0)
        bw.close()

    def test_bgzip_output(self):
        regs = random_regions(9)
        plain, _ = self.drive(regs, bw=None)
        gz, _ = self.drive(regs, bg="t.bedGraph.gz", bw=None)
        r = subprocess.run(["bgzip", "-t", gz], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        z = subprocess.run(["zcat", gz], capture_output=True, check=True).stdout
        with open(plain, "rb") as f:
            self.assertEqual(z, f.read())
        with gzip.open(gz, "rb") as f:
            self.assertEqual(f.read(), z)
        with open(gz, "rb") as f:  # BGZF: gzip member with the BC extra field, EOF block
            raw = f.read()
        self.assertEqual(raw[12:14], b"BC")
        self.assertTrue(raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")))


if __name__ == "__main__":
    unittest.main()
