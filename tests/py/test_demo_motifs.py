"""The motif report finds the motifs planted in the demo genome, and not impostors.

`seqlift score --motifs DB --report-json` on held-out demo regions, with a database that
holds the two planted motifs (GATA_like, TAL1_Ebox_like) and a column-shuffled copy of
each (same letters, same information content, scrambled order). For each target, the
seqlets that overlap a planted instance of the target's motif must be labelled with
that motif (significant E-value), the motif must be the one with most seqlets, and the
shuffled copies must label (almost) none.
"""
import json
import os
import subprocess
import tempfile
import unittest

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
DATA = os.path.join(SRC, "test_data", "demo")
N_REGIONS = 120
TARGETS = {"gata": "GATA_like", "ebox": "TAL1_Ebox_like"}
# a fixed derangement of the columns (no column stays in place)
PERM = {9: [4, 7, 0, 8, 2, 1, 3, 5, 6], 10: [5, 9, 7, 0, 8, 2, 1, 3, 4, 6]}


def read_meme(path):
    motifs, cur = {}, None
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "MOTIF":
            cur = f[1]
            motifs[cur] = []
        elif cur and len(f) == 4 and all(c.replace(".", "").isdigit() for c in f):
            motifs[cur].append(line.strip())
    return motifs


class DemoMotifs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = os.environ.get("SEQLIFT_TMP")
        if tmp:
            os.makedirs(tmp, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="demo_motifs_", dir=tmp)
        meme = os.path.join(DATA, "motifs.meme")
        db = os.path.join(cls.tmp, "db.meme")
        with open(meme) as fh:
            text = fh.read()
        for name, rows in read_meme(meme).items():
            perm = PERM[len(rows)]
            text += "\nMOTIF %s_shuffled\nletter-probability matrix: alength= 4 w= %d nsites= 20 E= 0\n%s\n" % (
                name, len(rows), "\n".join(rows[i] for i in perm))
        with open(db, "w") as fh:
            fh.write(text)
        bed = os.path.join(cls.tmp, "regions.bed")
        with open(os.path.join(DATA, "test.bed")) as fh, open(bed, "w") as out:
            out.writelines(fh.readlines()[:N_REGIONS])
        cls.truth = {}
        for line in open(os.path.join(DATA, "truth.bed")):
            c, s, e, name = line.split("\t")[:4]
            cls.truth.setdefault(name, []).append((c, int(s), int(e)))
        cls.out = os.path.join(cls.tmp, "rep")
        cls.proc = subprocess.run(
            [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"), "-f", os.path.join(DATA, "genome.fa.gz"),
             "-b", bed, "--refs", "dinuc:10", "--target", ",".join(TARGETS), "--motifs", db,
             "--report-json", cls.out + ".json", "--threads", "2"], capture_output=True, text=True)

    def report(self, target):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        with open("%s.%s.json" % (self.out, target)) as fh:
            return json.load(fh)

    def overlaps_planted(self, s, motif):
        return any(c == s["chrom"] and s["start"] < e and st < s["end"] for c, st, e in self.truth[motif])

    def test_planted_motif_found(self):
        for target, motif in TARGETS.items():
            rep = self.report(target)
            counts = {m["motif"]: m for m in rep["motifs"]}
            on_planted = [s for s in rep["seqlets"] if s["sign"] > 0 and self.overlaps_planted(s, motif)]
            labelled = [s for s in on_planted if s["motif"] == motif]
            print("%s: %d positive seqlets on planted %s, %d labelled with it; best E %.2g; counts %s" % (
                target, len(on_planted), motif, len(labelled), counts[motif]["best_evalue"],
                {k: v["n_seqlets"] for k, v in counts.items()}))
            self.assertGreaterEqual(len(on_planted), 20)
            self.assertGreaterEqual(len(labelled), 0.8 * len(on_planted))
            self.assertLess(counts[motif]["best_evalue"], 1e-4)
            self.assertEqual(max(counts.values(), key=lambda m: m["n_seqlets"])["motif"], motif)

    def test_shuffled_motifs_do_not_match(self):
        for target, motif in TARGETS.items():
            rep = self.report(target)
            counts = {m["motif"]: m["n_seqlets"] for m in rep["motifs"]}
            for name in TARGETS.values():
                self.assertLessEqual(counts.get(name + "_shuffled", 0), 0.05 * counts[motif], (target, counts))


if __name__ == "__main__":
    unittest.main()
