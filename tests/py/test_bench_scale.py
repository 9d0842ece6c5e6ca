"""scripts/bench_scale (issue 13 item 7), on tiny counts:

* its regions are what it says: n windows of the model's length inside the contigs, in
  random (not genome) order, both strands, the same file for the same seed;
* its RSS measure is the command's: a child touching ~200 MB reports more than 200 MB, and
  `true` a few MB;
* memory per region, the README's claim: from 1,000 to 20,000 demo regions `score --tsv`
  grows by at most 120 bytes per added region (the region list), and from 500 to 5,000
  every output but the bigWig (npz, bedGraph, report HTML and JSON with every seqlet,
  seqlets BED) by at most 400 (it was ~18 KB while the report kept its seqlets in memory);
* one end-to-end run (demo and BPNet-like models, two tiny counts, every mode) prints a row
  per count and mode with wall and CPU time, ms/region, RSS and, for the larger count, the growth
  per region and the CPU time ratio, and the load average before and after.
"""
import os
import subprocess
import sys
import tempfile
import unittest
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
_loader = SourceFileLoader("bench_scale", os.path.join(SCRIPTS, "bench_scale"))
bench = module_from_spec(spec_from_loader("bench_scale", _loader))
_loader.exec_module(bench)
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()


class TestBenchScale(unittest.TestCase):
    def test_regions(self):
        chroms = [("a", 1000), ("b", 300), ("c", 5000)]
        with tempfile.TemporaryDirectory(dir=TMP) as d:
            p, q = os.path.join(d, "r.bed"), os.path.join(d, "q.bed")
            bench.write_regions(p, 500, 200, chroms)
            bench.write_regions(q, 500, 200, chroms)
            rows = [line.split("\t") for line in open(p).read().splitlines()]
            self.assertEqual(open(p).read(), open(q).read())
        self.assertEqual(len(rows), 500)
        size = dict(chroms)
        for i, (c, s, e, name, score, strand) in enumerate(rows):
            self.assertEqual((int(e) - int(s), name, score), (200, "r%d" % i, "0"))
            self.assertTrue(0 <= int(s) and int(e) <= size[c], (c, s, e))
            self.assertIn(strand, ("+", "-"))
        keys = [(c, int(s)) for c, s, *_ in rows]
        self.assertNotEqual(keys, sorted(keys))
        self.assertEqual({c for c, *_ in rows}, {"a", "b", "c"})
        self.assertEqual({r[5] for r in rows}, {"+", "-"})

    def test_rss_is_the_commands_own(self):
        dt, mb, rc, err, cpu = bench.run_measured([sys.executable, "-c",
                                              "b = bytearray(200 << 20); import sys; sys.exit(3)"])
        self.assertEqual(rc, 3, err)
        self.assertGreater(mb, 200)
        self.assertLess(mb, 320)
        dt, mb, rc, err, cpu = bench.run_measured(["true"])
        self.assertEqual(rc, 0)
        self.assertLess(mb, 20)

    def test_memory_per_region(self):
        seqlift = os.environ.get("SEQLIFT")
        if not seqlift or not os.path.exists(seqlift):
            self.skipTest("SEQLIFT not set (ctest sets it)")
        a = bench.main.__globals__["argparse"].Namespace(seqlift=seqlift, threads=1)
        model = os.path.join(bench.DEMO, "model.json")
        chroms = bench.contigs(os.path.join(bench.DEMO, "genome.fa.gz.fai"))
        with tempfile.TemporaryDirectory(dir=TMP) as d:
            def rss(n, mode):
                bed = os.path.join(d, "%d.bed" % n)
                bench.write_regions(bed, n, 200, chroms)
                dt, mb, rc, err, cpu = bench.run_measured(bench.commands(a, model, "gata", "dinuc:1", bed,
                                                                    os.path.join(d, "o"), mode))
                self.assertEqual(rc, 0, err)
                return mb * 1048576
            grow = (rss(20000, "score-tsv") - rss(1000, "score-tsv")) / 19000
            self.assertLess(grow, 120)
            grow = (rss(5000, "score-nobw") - rss(500, "score-nobw")) / 4500
            self.assertLess(grow, 400)

    def test_end_to_end(self):
        seqlift = os.environ.get("SEQLIFT")
        if not seqlift or not os.path.exists(seqlift):
            self.skipTest("SEQLIFT not set (ctest sets it)")
        r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "bench_scale"), "--counts", "20,60",
                            "--bpnet-counts", "2,4", "--seqlift", seqlift],
                           capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout
        for want in ("load average before:", "load average after:",
                     "demo model (200 bp, target gata, --refs dinuc:2, --threads 2)",
                     "bpnet model (2114 bp, target count, --refs dinuc:1, --threads 2)",
                     "RSS_B/region+", "cpu/lin"):
            self.assertIn(want, out)
        self.assertNotIn("FAILED", out)
        rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
        self.assertEqual([(x[0], x[1]) for x in rows],
                         [(n, m) for n in ("20", "60") for m in bench.MODES] +
                         [(n, m) for n in ("2", "4") for m in bench.MODES])
        for x in rows:
            self.assertEqual(len(x), 8, x)
            self.assertGreater(float(x[2]), 0)
            self.assertGreater(float(x[5]), 1)
            if x[0] in ("60", "4"):
                float(x[6]), float(x[7])
            else:
                self.assertEqual(x[6:], ["-", "-"])


if __name__ == "__main__":
    unittest.main()
