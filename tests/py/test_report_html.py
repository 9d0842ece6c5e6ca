"""`seqlift report` / `seqlift seqlets` end to end on synthetic npz arrays (numpy), and the
HTML opened in headless Chromium.

* Arrays as `seqlift score --npz` writes them: arr_0 (regions, 4, length) float32, with
  GATA_like and EBOX_like (test_data/motifs/jaspar_style.meme) planted as contributions.
* JSON and TSV: every planted instance is a seqlet labelled with its motif, genome
  coordinates (computed here) right on both strands; BED from `seqlets` agrees.
* HTML: self-contained (no external loads), hostile names escaped; in Chromium no
  console errors or exceptions (the page records them into #sl-errors), one logo SVG per
  drawn region, and a screenshot (SEQLIFT_TMP/report_screenshot.png) that is not blank
  (PNG decoded here with zlib) and shows the letter colours.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

import numpy as np

SEQLIFT = os.environ.get("SEQLIFT")
SRC = os.environ.get("SEQLIFT_SRC", ".")
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
MEME = os.path.join(SRC, "test_data", "motifs", "jaspar_style.meme")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
N, L = 8, 240
PLANTS = [("MA9001.1", 40, False), ("MA9002.1", 150, True)]  # id, position, reverse complement
HOSTILE = "<img_src=x_onerror=alert(1)>"


def read_meme(path):
    mot, cur = {}, None
    for line in open(path):
        t = line.split()
        if not t:
            continue
        if t[0] == "MOTIF":
            cur = t[1]
            mot[cur] = []
        elif cur and len(t) == 4:
            try:
                mot[cur].append([float(v) for v in t])
            except ValueError:
                pass
    return {k: np.array(v) for k, v in mot.items()}


def png_pixels(path):
    """RGB(A) pixels of an 8-bit PNG as a numpy array, decoded with zlib (no PIL)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 255
        else:  # 1 (sub), 3 (average), 4 (Paeth) depend on the left pixel: sequential
            cur = np.zeros(stride, np.int32)
            for x in range(stride):
                a = cur[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                if f == 1:
                    p = a
                elif f == 3:
                    p = (a + b) // 2
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + p) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, ch)[:, :, :3]


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SEQLIFT:
            raise unittest.SkipTest("SEQLIFT not set")
        cls.dir = tempfile.mkdtemp(prefix="report_", dir=TMP if os.path.isdir(TMP) else None)
        rng = np.random.default_rng(2024)
        mot = read_meme(MEME)
        ohe = np.zeros((N, L, 4), np.float32)
        hyp = (0.01 * rng.standard_normal((N, L, 4))).astype(np.float32)
        for i in range(N):
            seq = rng.integers(0, 4, L)
            for mid, at, rc in PLANTS:
                P = mot[mid][::-1, ::-1] if rc else mot[mid]
                seq[at:at + len(P)] = P.argmax(1)
                hyp[i, at:at + len(P)] += (0.3 * (P - 0.25)).astype(np.float32)
            ohe[i, np.arange(L), seq] = 1
        contrib = hyp * ohe
        cls.prefix = os.path.join(cls.dir, "d")
        for name, a in (("ohe", ohe), ("contrib", contrib), ("hyp", hyp)):
            np.savez(cls.prefix + "." + name + ".npz", np.ascontiguousarray(a.transpose(0, 2, 1)))
        cls.bed = cls.prefix + ".bed"
        cls.regions = []
        with open(cls.bed, "w") as f:
            for i in range(N):
                start, strand = 5000 + 1000 * i, "-" if i % 2 else "+"
                name = HOSTILE if i == 2 else "peak%d" % i
                f.write("chr3\t%d\t%d\t%s\t0\t%s\n" % (start, start + L, name, strand))
                cls.regions.append((start, strand))
        cls.html = os.path.join(TMP, "report_test.html")
        cls.json = cls.prefix + ".json"
        cls.tsv = cls.prefix + ".tsv"
        cmd = [SEQLIFT, "report", "--npz", cls.prefix, "-b", cls.bed, "--motifs", MEME, "-o", cls.html,
               "--report-json", cls.json, "--tsv", cls.tsv, "--report-regions", "5", "--genome-name", "hg38"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("%s\n%s" % (" ".join(cmd), p.stderr))

    def genome(self, i, ms, me):
        start, strand = self.regions[i]
        return (start + L - me, start + L - ms) if strand == "-" else (start + ms, start + me)

    def test_json_planted_motifs(self):
        rep = json.load(open(self.json))
        self.assertEqual(rep["n_regions"], N)
        self.assertEqual(len(rep["regions"]), 5)
        self.assertEqual([r["index"] for r in rep["regions"]], list(range(5)))
        found = {m: 0 for m, _, _ in PLANTS}
        for s in rep["seqlets"]:
            i = s["region_index"]
            self.assertEqual((s["start"], s["end"]), self.genome(i, s["model_start"], s["model_end"]))
            self.assertEqual(s["strand"], self.regions[i][1])
            for mid, at, rc in PLANTS:
                if s["model_start"] < at + 8 and s["model_end"] > at:
                    self.assertEqual(s["motif"], mid, s)
                    self.assertLess(s["matches"][0]["evalue"], 0.05)
                    found[mid] += 1
        self.assertEqual(found, {m: N for m, _, _ in PLANTS})
        summary = {m["motif"]: m for m in rep["motifs"]}
        for mid, _, _ in PLANTS:
            self.assertEqual(summary[mid]["n_seqlets"], N)
            self.assertGreater(summary[mid]["scan_hits_in_seqlets"], 0)
        self.assertEqual(rep["regions"][2]["name"], HOSTILE)

    def test_json_average_seqlet(self):
        # the average seqlet of a motif, in the motif's orientation, computed here from the
        # arrays: column j of a '+' match at at+j; of a '-' match at at+w-1-j with the
        # complementary base
        rep = json.load(open(self.json))
        summary = {m["motif"]: m for m in rep["motifs"]}
        contrib = np.load(self.prefix + ".contrib.npz")["arr_0"].astype(np.float64)  # (N, 4, L)
        mot = read_meme(MEME)
        for mid, at, _ in PLANTS:
            w = len(mot[mid])
            # the strand the matcher chose (a near-palindrome planted reversed may match '+')
            (strand,) = {s["matches"][0]["strand"] for s in rep["seqlets"] if s["motif"] == mid}
            (start,) = {s["matches"][0]["model_start"] for s in rep["seqlets"] if s["motif"] == mid}
            self.assertEqual(start, at)
            rc = strand == "-"
            cols = [at + (w - 1 - j if rc else j) for j in range(w)]
            want = np.array([[contrib[:, 3 - a if rc else a, p].mean() for a in range(4)] for p in cols])
            got = np.array(summary[mid]["average_contribution"])
            self.assertEqual(got.shape, (w, 4))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
            self.assertTrue((got.argmax(1) == mot[mid].argmax(1)).all())

    def test_seqlets_cli_bed(self):
        out = os.path.join(self.dir, "s.bed")
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", self.prefix, "-b", self.bed, "-o", out, "--motifs", MEME],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [l.split("\t") for l in open(out).read().splitlines()]
        tsv = [l.split("\t") for l in open(self.tsv).read().splitlines()[1:]]
        # BED9 in genome order, the TSV in region and rank order: the same seqlets
        self.assertEqual(sorted((b[0], int(b[1]), int(b[2])) for b in rows),
                         sorted((t[0], int(t[1]), int(t[2])) for t in tsv))
        for b in rows:
            self.assertEqual(len(b), 9)
        by_pos = {(t[0], t[1], t[2]): t for t in tsv}
        for b in rows:  # name: best motif (TSV column 13, its id; the name here) and rank
            t = by_pos[(b[0], b[1], b[2])]
            self.assertEqual(b[3].split("#")[1], t[3].split("#")[-1])
            self.assertEqual(b[3].startswith("unlabelled#"), t[12] == ".")
        # -s FASTA: record names, positions in the record
        fa = os.path.join(self.dir, "s.fa")
        ohe = np.load(self.prefix + ".ohe.npz")["arr_0"]
        with open(fa, "w") as f:
            for i in range(N):
                f.write(">rec%d extra words\n%s\n" % (i, "".join("ACGT"[b] for b in ohe[i].argmax(0))))
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", self.prefix, "-s", fa], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        first = [l.split("\t") for l in p.stdout.splitlines() if l.startswith("rec0\t")]
        want = sorted((t[7], t[8]) for t in tsv if t[6] == "0")  # model positions of region 0
        self.assertEqual(sorted((f[1], f[2]) for f in first), want)
                # without -b: region<i> names, window coordinates
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", self.prefix], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("region0\t"))

    def test_multi_target_names(self):
        # a multi-target run: PREFIX.ohe.npz shared, PREFIX.<target>.{contrib,hyp}.npz
        pre = os.path.join(self.dir, "mt")
        shutil.copy(self.prefix + ".ohe.npz", pre + ".ohe.npz")
        for kind in ("contrib", "hyp"):
            shutil.copy(self.prefix + "." + kind + ".npz", pre + ".gata." + kind + ".npz")
        out = os.path.join(self.dir, "mt.bed")
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", pre, "--target", "gata", "-b", self.bed, "-o", out],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        single = os.path.join(self.dir, "single.bed")
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", self.prefix, "-b", self.bed, "-o", single],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(open(out).read(), open(single).read())
        p = subprocess.run([SEQLIFT, "seqlets", "--npz", pre, "-o", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--target", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_cli_errors(self):
        def run(*args):
            return subprocess.run([SEQLIFT] + list(args), capture_output=True, text=True, timeout=60)
        self.assertEqual(run("report").returncode, 2)
        self.assertEqual(run("seqlets").returncode, 2)
        self.assertEqual(run("report", "--bogus").returncode, 2)
        h = run("report", "--help")
        self.assertEqual(h.returncode, 0)
        self.assertIn("--seqlet-threshold", h.stdout)
        self.assertEqual(run("seqlets", "--help").returncode, 0)
        bad = os.path.join(SRC, "test_data", "motifs", "bad_row_sum.meme")
        p = run("report", "--npz", self.prefix, "--motifs", bad, "-o", os.path.join(self.dir, "x.html"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertIn("bad_row_sum.meme:13:", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.html")))
        p = run("seqlets", "--npz", os.path.join(self.dir, "missing"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("missing.ohe.npz", p.stderr)
        p = run("report", "--npz", self.prefix, "-o", os.path.join(self.dir, "y.html"), "--min-len", "0")
        self.assertEqual(p.returncode, 2)

    def test_html_static(self):
        html = open(self.html).read()
        self.assertNotIn(HOSTILE, html)
        self.assertIn("&lt;img_src=x_onerror=alert(1)&gt;", html)
        self.assertEqual(html.count('<svg class="logo"'), 5)
        # nothing loaded from outside: no src/link/import/url(), only plain <a href> links
        self.assertIsNone(re.search(r"\ssrc\s*=|<link|@import|url\(|<iframe|<img", html))
        self.assertIn("chr3:5001-5240", html)
        # the seqlets BED9 beside the report, the same as `seqlets -o` gives
        beside = self.html[:-len(".html")] + ".seqlets.bed"
        self.assertEqual(len(open(beside).readline().split("\t")), 9)
        # each region links to UCSC (the assembly given) and to a running IGV
        self.assertIn('href="https://genome.ucsc.edu/cgi-bin/hgTracks?db=hg38&amp;position=chr3:5001-5240"', html)
        self.assertIn('href="http://localhost:60151/goto?locus=chr3:5001-5240"', html)
        # logos scale to the width (viewBox, no fixed width) and can be zoomed
        self.assertEqual(len(re.findall(r'<svg class="logo"[^>]*viewBox="0 0 [\d.]+ [\d.]+"', html)), 5)
        self.assertIsNone(re.search(r'<svg class="logo"[^>]*\swidth=', html))
        self.assertEqual(html.count('<div class="zoom">'), 5)
        # every table scrolls inside its own box
        self.assertEqual(html.count("<table"), html.count('<div class="tbl"><table'))
        # per-motif summary: the database's logo and the average seqlet beside it
        row = re.search(r"<tr><td><a [^>]*>MA9001\.1</a>.*?</tr>", html, re.S).group(0)
        self.assertEqual(row.count('<svg class="mlogo"'), 2)
        # the motif of the seqlets sits on the region for the filter
        self.assertEqual(len(re.findall(r'data-motifs="[^"]*MA9001\.1', html)), 5)

    def chromium(self, *args):
        prof = tempfile.mkdtemp(prefix="chromium_", dir=self.dir)
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + prof] + list(args) + ["file://" + os.path.abspath(self.html)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=90)

    def dom(self, width, hash=""):
        prof = tempfile.mkdtemp(prefix="chromium_", dir=self.dir)
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + prof, "--window-size=%d,900" % width, "--dump-dom",
               "file://" + os.path.abspath(self.html) + hash]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        m = re.search(r'<pre id="sl-errors">(.*?)</pre>', p.stdout, re.S)
        self.assertEqual(m.group(1).strip(), "", "page errors: " + m.group(1))
        body = dict(re.findall(r'(data-[\w-]+)="([^"]*)"', re.search(r"<body([^>]*)>", p.stdout).group(1)))
        self.assertEqual(body.get("data-ready"), "1")
        return body, p.stdout

    @unittest.skipUnless(os.path.exists(CHROMIUM), "chromium not installed")
    def test_chromium_widths_and_filter(self):
        for width in (1400, 390):
            body, _ = self.dom(width)
            self.assertEqual(int(body["data-overflow"]), 0, "page wider than a %d px window" % width)
            self.assertEqual(body["data-label-overlaps"], "0", "seqlet labels overlap at %d px" % width)
            self.assertEqual(body["data-shown"], "5")
        # search box (name, locus) and motif filter, filled from the address
        for hash, shown in (("#q=peak3", 1), ("#q=chr3:7001-7100", 1), ("#q=chr3:7001", 1), ("#q=chr9:1-10", 0),
                            ("#motif=MA9001.1", 5), ("#motif=MA9001.1&q=peak", 4)):
            body, dom = self.dom(1400, hash)
            self.assertEqual(body["data-shown"], str(shown), hash)
            self.assertEqual(dom.count('class="region hidden"'), 5 - shown, hash)

    @unittest.skipUnless(os.path.exists(CHROMIUM), "chromium not installed")
    def test_chromium_dom_and_screenshot(self):
        p = self.chromium("--dump-dom")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout
        m = re.search(r'<pre id="sl-errors">(.*?)</pre>', dom, re.S)
        self.assertIsNotNone(m, "error sink missing from the DOM")
        self.assertEqual(m.group(1).strip(), "", "page errors: " + m.group(1))
        body = re.search(r"<body([^>]*)>", dom).group(1)
        self.assertIn('data-ready="1"', body, "the page's script did not run to the end")
        self.assertIn('data-logos="5"', body)
        self.assertEqual(dom.count('<svg class="logo"'), 5)
        self.assertGreater(dom.count("<use "), 5 * 50)

        shot = os.path.join(TMP, "report_screenshot.png")
        if os.path.exists(shot):
            os.remove(shot)
        p = self.chromium("--screenshot=" + shot, "--window-size=1200,900", "--hide-scrollbars")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        img = png_pixels(shot)
        self.assertEqual(img.shape[:2], (900, 1200))
        self.assertGreater(img.std(), 20, "screenshot is blank")
        # letter colours of the logos are on screen: A green #109648, T red #d62839
        for rgb in ((0x10, 0x96, 0x48), (0xd6, 0x28, 0x39)):
            close = (np.abs(img - np.array(rgb)).sum(axis=2) < 30).sum()
            self.assertGreater(close, 30, "colour %s not found" % (rgb,))


if __name__ == "__main__":
    unittest.main()
