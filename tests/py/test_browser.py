"""Browser outputs of `seqlift score` on the demo model and genome: the seqlets BED9, the
windows BED (npz rows back to the genome), the IGV session and the UCSC hub.

* BED9: sorted as `LC_ALL=C sort -k1,1 -k2,2n` sorts it, names motif#rank or
  unlabelled#rank, score 0..1000 (1000 = the largest |contribution|), strand '.' only
  when unlabelled, itemRgb one colour per sign; bgzip + tabix index it and a region
  query returns its rows. The same seqlets as the report's JSON (coordinates, motif).
* windows BED: one row per npz row; the genome bases under each window (read here from
  the FASTA, reverse-complemented on '-') are the one-hot rows; a window padded before
  the contig start is clipped at 0 with the summit column telling where it began.
* IGV session: well-formed XML with IGV 2.16's element and attribute names; every path
  (genome, resources, track ids) resolves from the session's directory to a file; one
  panel per target, autoscaled, colour by sign. When Debian's igv and xvfb-run are
  installed, IGV loads the session in batch mode and its screenshot shows both colours.
* UCSC hub: hub.txt / genomes.txt / trackDb.txt with the keys hubCheck asks for, every
  bigDataUrl resolving from the hub directory to a bigWig.
* Output directories that do not exist are created.
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
DATA = os.path.join(SRC, "test_data", "demo")
TARGETS = ["gata", "ebox"]
POS, NEG = "213,94,0", "0,114,178"


def read_fasta(path):
    seqs, name, buf = {}, None, []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                if name:
                    seqs[name] = "".join(buf)
                name, buf = line[1:].split()[0], []
            else:
                buf.append(line.strip())
    seqs[name] = "".join(buf)
    return seqs


def revcomp(s):
    return s[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="browser_", dir=TMP)
        rows = [l.split() for l in open(os.path.join(DATA, "test.bed")).read().splitlines()[:14]]
        cls.bed = os.path.join(cls.dir, "regions.bed")
        with open(cls.bed, "w") as f:
            for i, r in enumerate(rows):  # both strands
                f.write("%s\t%s\t%s\t%s\t0\t%s\n" % (r[0], r[1], r[2], r[3], "-" if i % 3 == 1 else "+"))
            f.write("chr1\t10\t60\tnear_start\t0\t+\n")  # window padded before position 0
        cls.out = os.path.join(cls.dir, "new", "deeper")  # created by score
        cls.prefix = os.path.join(cls.out, "run")
        cls.xml = os.path.join(cls.out, "run.xml")
        cls.hub = os.path.join(cls.dir, "hubs", "hub")
        cmd = [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"), "-f", os.path.join(DATA, "genome.fa.gz"),
               "-b", cls.bed, "--refs", "dinuc:4", "--seed", "1", "--target", ",".join(TARGETS),
               "--npz", cls.prefix, "--bigwig", cls.prefix + ".bw", "--motifs", os.path.join(DATA, "motifs.meme"),
               "--report", cls.prefix + ".html", "--report-json", cls.prefix + ".json",
               "--igv-session", cls.xml, "--ucsc-hub", cls.hub, "--genome-name", "demo1"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("%s\n%s" % (" ".join(cmd), p.stderr))
        cls.genome = read_fasta(os.path.join(DATA, "genome.fa.gz"))

    def bed9(self, t):
        return [l.split("\t") for l in open("%s.%s.seqlets.bed" % (self.prefix, t)).read().splitlines()]

    def test_seqlets_bed9(self):
        motifs = {l.split()[2] if len(l.split()) > 2 else l.split()[1]
                  for l in open(os.path.join(DATA, "motifs.meme")) if l.startswith("MOTIF")}
        for t in TARGETS:
            path = "%s.%s.seqlets.bed" % (self.prefix, t)
            rows = self.bed9(t)
            self.assertGreater(len(rows), 10)
            srt = subprocess.run(["sort", "-k1,1", "-k2,2n", path], capture_output=True, text=True,
                                 env=dict(os.environ, LC_ALL="C"), check=True).stdout
            self.assertEqual(srt, open(path).read())
            scores = []
            for r in rows:
                self.assertEqual(len(r), 9)
                name, rank = r[3].rsplit("#", 1)
                self.assertTrue(name == "unlabelled" or name in motifs, r)
                self.assertGreaterEqual(int(rank), 1)
                self.assertTrue(0 <= int(r[4]) <= 1000)
                scores.append(int(r[4]))
                self.assertEqual(r[5] == ".", name == "unlabelled", r)
                self.assertEqual((r[6], r[7]), (r[1], r[2]))
                self.assertIn(r[8], (POS, NEG))
            self.assertEqual(max(scores), 1000)
            # the report's JSON: same seqlets, same coordinates and motif, colour = sign
            rep = json.load(open("%s.%s.json" % (self.prefix, t)))
            js = sorted((s["chrom"], s["start"], s["end"], s["rank"], s["sign"], s["motif"]) for s in rep["seqlets"])
            idx = {m: n for m, n in (l.split()[1:3] for l in open(os.path.join(DATA, "motifs.meme"))
                                      if l.startswith("MOTIF") and len(l.split()) > 2)}
            got = sorted((r[0], int(r[1]), int(r[2]), int(r[3].rsplit("#", 1)[1]), 1 if r[8] == POS else -1,
                          r[3].rsplit("#", 1)[0]) for r in rows)
            self.assertEqual(len(got), len(js))
            for g, j in zip(got, js):
                self.assertEqual(g[:5], j[:5])
                self.assertEqual(g[5], "unlabelled" if j[5] is None else idx.get(j[5], j[5]))
            # bgzip + tabix
            gz = os.path.join(self.dir, t + ".bed.gz")
            with open(gz, "wb") as fh:
                subprocess.run(["bgzip", "-c", path], stdout=fh, check=True)
            subprocess.run(["tabix", "-p", "bed", gz], check=True)
            r0 = rows[0]
            q = subprocess.run(["tabix", gz, "%s:%d-%s" % (r0[0], int(r0[1]) + 1, r0[2])], capture_output=True,
                               text=True, check=True).stdout.splitlines()
            self.assertIn("\t".join(r0), q)

    def test_average_seqlet_both_strands(self):
        # the report's average seqlet per motif, recomputed here from the npz: each
        # labelled seqlet's motif columns (a '-' match: reverse complement), then the mean
        widths = {}
        cur = None
        for l in open(os.path.join(DATA, "motifs.meme")):
            t = l.split()
            if t and t[0] == "MOTIF":
                cur = t[1]
            elif cur and "w=" in l:
                widths[cur] = int(l.split("w=")[1].split()[0])
        strands = set()
        for t in TARGETS:
            rep = json.load(open("%s.%s.json" % (self.prefix, t)))
            contrib = np.load("%s.%s.contrib.npz" % (self.prefix, t))["arr_0"].astype(np.float64)
            L = contrib.shape[2]
            for m in rep["motifs"]:
                if not m["n_seqlets"]:
                    continue
                w = widths[m["motif"]]
                acc = np.zeros((w, 4))
                sl = [s for s in rep["seqlets"] if s["motif"] == m["motif"]]
                self.assertEqual(len(sl), m["n_seqlets"])
                for s in sl:
                    ms, st = s["matches"][0]["model_start"], s["matches"][0]["strand"]
                    strands.add(st)
                    for j in range(w):
                        p = ms + (w - 1 - j if st == "-" else j)
                        if 0 <= p < L:
                            acc[j] += contrib[s["region_index"], ::-1 if st == "-" else 1, p]
                np.testing.assert_allclose(np.array(m["average_contribution"]), acc / len(sl), rtol=1e-4, atol=1e-6)
        self.assertEqual(strands, {"+", "-"})

    def test_windows_bed_round_trip(self):
        ohe = np.load(self.prefix + ".ohe.npz")["arr_0"]  # (n, 4, L)
        rows = [l.split("\t") for l in open(self.prefix + ".windows.bed").read().splitlines()]
        self.assertEqual(len(rows), ohe.shape[0])
        L = ohe.shape[2]
        tsv_names = [l.split("\t")[3] for l in open(self.bed)]
        for i, r in enumerate(rows):
            self.assertEqual(len(r), 7)
            chrom, start, end, summit = r[0], int(r[1]), int(r[2]), int(r[6])
            self.assertEqual(r[3], tsv_names[i])
            self.assertGreaterEqual(start, 0)
            wstart = start + summit - L // 2
            self.assertEqual(end - wstart, L)
            seq = self.genome[chrom][max(wstart, 0):end]
            seq = "N" * (L - len(seq)) + seq  # padding before the contig start
            if r[5] == "-":
                seq = revcomp(seq)
            dec = "".join("ACGT"[int(np.argmax(ohe[i, :, p]))] if ohe[i, :, p].max() > 0.5 else "N" for p in range(L))
            self.assertEqual(dec, "".join(c if c in "ACGT" else "N" for c in seq.upper()), r)
            float(r[4])
        self.assertEqual(rows[-1][3], "near_start")
        self.assertEqual(rows[-1][1], "0")
        self.assertLess(int(rows[-1][6]), L // 2)

    def test_igv_session_xml(self):
        root = ET.parse(self.xml).getroot()
        base = os.path.dirname(self.xml)
        self.assertEqual(root.tag, "Session")
        self.assertEqual(root.get("version"), "8")
        self.assertTrue(os.path.exists(os.path.join(base, root.get("genome"))))
        self.assertRegex(root.get("locus"), r"^chr\d:\d+-\d+$")
        res = root.find("Resources").findall("Resource")
        paths = [r.get("path") for r in res]
        for p in paths:
            self.assertFalse(os.path.isabs(p))
            self.assertTrue(os.path.exists(os.path.join(base, p)), p)
        panels = root.findall("Panel")
        self.assertEqual([p.get("name") for p in panels], TARGETS + ["FeaturePanel"])
        for p in panels[:2]:
            (tr,) = p.findall("Track")
            self.assertEqual(tr.get("clazz"), "org.broad.igv.track.DataSourceTrack")
            self.assertEqual((tr.get("autoScale"), tr.get("color"), tr.get("altColor")), ("true", POS, NEG))
            self.assertIn(tr.get("id"), paths)
            self.assertTrue(tr.get("id").endswith(".%s.bw" % p.get("name")))
        feats = panels[2].findall("Track")
        self.assertEqual([t.get("name") for t in feats], ["gata seqlets", "ebox seqlets", "regions"])
        for t in feats:
            self.assertEqual(t.get("clazz"), "org.broad.igv.track.FeatureTrack")
            self.assertIn(t.get("id"), paths)
        # every attribute name is one IGV 2.16 reads (SessionAttribute / AbstractTrack.unmarshalXML)
        known = {"genome", "locus", "version", "nextAutoscaleGroup", "path", "name", "type", "altColor", "autoScale",
                 "autoscaleGroup", "clazz", "color", "fontSize", "id", "renderer", "visible", "windowFunction",
                 "displayMode"}
        for el in root.iter():
            self.assertTrue(set(el.attrib) <= known, (el.tag, el.attrib))

    @unittest.skipUnless(shutil.which("igv") and shutil.which("xvfb-run"), "igv / xvfb-run not installed")
    def test_igv_loads_session(self):
        igvdir = os.path.join(self.dir, "igvdir")
        os.makedirs(igvdir, exist_ok=True)
        with open(os.path.join(igvdir, "prefs.properties"), "w") as f:  # no default genome from the network
            f.write("DEFAULT_GENOME_KEY=%s\n" % os.path.join(SRC, "test_data", "genome.fa"))
        batch = os.path.join(self.dir, "batch.txt")
        with open(batch, "w") as f:
            f.write("load %s\nsnapshotDirectory %s\nsnapshot igv.png\nexit\n" % (os.path.abspath(self.xml), self.dir))
        p = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "igv", "--igvDirectory", igvdir,
                            "-b", batch], capture_output=True, text=True, timeout=240)
        log = p.stdout + p.stderr
        shot = os.path.join(self.dir, "igv.png")
        self.assertTrue(os.path.exists(shot), log[-3000:])
        for f in ("run.gata.bw", "run.ebox.seqlets.bed", "regions.bed"):
            self.assertIn(f, log)
        self.assertNotIn("Error loading", log)
        self.assertNotIn("Unrecognized", log)
        # the screenshot shows bars (and seqlets) in both colours: not blank, not an error dialog
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_report_html import png_pixels
        img = png_pixels(shot)
        self.assertGreater(img.std(), 20)
        for rgb in ((213, 94, 0), (0, 114, 178)):
            close = (np.abs(img - np.array(rgb)).sum(axis=2) < 20).sum()
            self.assertGreater(close, 50, "colour %s not on the screenshot" % (rgb,))

    def test_ucsc_hub(self):
        def kv(name):
            return dict(l.split(" ", 1) for l in open(os.path.join(self.hub, name)).read().splitlines() if l)
        hub = kv("hub.txt")
        for k in ("hub", "shortLabel", "longLabel", "genomesFile", "email"):
            self.assertIn(k, hub)
        self.assertEqual(kv("genomes.txt"), {"genome": "demo1", "trackDb": "trackDb.txt"})
        stanzas = [dict(l.strip().split(" ", 1) for l in s.splitlines() if l.strip() and not l.startswith("#"))
                   for s in open(os.path.join(self.hub, "trackDb.txt")).read().split("\n\n")]
        stanzas = [s for s in stanzas if s]
        comps = [s for s in stanzas if s.get("compositeTrack") == "on"]
        self.assertEqual([c["shortLabel"] for c in comps], TARGETS)
        kids = [s for s in stanzas if "bigDataUrl" in s]
        self.assertEqual(len(kids), 2)
        names = {s["track"] for s in stanzas}
        for s in kids:
            self.assertTrue(os.path.exists(os.path.join(self.hub, s["bigDataUrl"])))
            self.assertIn(s["parent"].split()[0], names)
            self.assertEqual((s["type"], s["color"], s["altColor"]), ("bigWig", POS, NEG))
        for s in stanzas:
            self.assertRegex(s["track"], r"^[A-Za-z][A-Za-z0-9_]*$")

    def test_hub_needs_genome_name(self):
        p = subprocess.run([SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"), "-f",
                            os.path.join(DATA, "genome.fa.gz"), "-b", self.bed, "--ucsc-hub",
                            os.path.join(self.dir, "h2")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--genome-name", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
