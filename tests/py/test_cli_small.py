"""Small things a user hits first, for every command.

* Each `--help` default is the parser's: for every option whose help ends in
  `[value]`, running with `--option value` gives byte-identical outputs to running
  without it (score: TSV and the report JSON, whose options block holds every report
  setting; shuffle: the FASTA; report/seqlets: JSON / BED).
* `--version` / `-V` on every command.
* `-s` is the sequence FASTA everywhere (shuffle too); the seed is `--seed` only.
* Output directories that do not exist are created.
* `seqlets` refuses the report's drawing options instead of ignoring them.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
DATA = os.path.join(SRC, "test_data", "demo")
COMMANDS = ["extract", "predict", "score", "shuffle", "seqlets", "report"]
# help defaults that describe a behaviour rather than name a value
DESCRIPTIVE = re.compile(r"\s|stdout|^all$|^-$|beside|default|^output")


def run(*args, **kw):
    return subprocess.run([SEQLIFT] + [str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


def help_defaults(cmd):
    """{option: default} from `seqlift CMD --help` (entries may continue on later lines)."""
    text = run(cmd, "--help").stdout
    out, cur, desc = {}, None, ""
    for line in text.splitlines() + [""]:
        m = re.match(r"^\s{1,6}(?:-\w, )?(--[\w-]+)(?: \S+)?\s", line + " ")
        if m or not line.strip():
            if cur:
                d = re.findall(r"\[([^\]]*)\]\s*(?:;.*)?$", desc.strip())
                if d:
                    out[cur] = d[-1]
            cur, desc = (m.group(1), line[m.end():]) if m else (None, "")
        elif cur:
            desc += " " + line.strip()
    return out


class CliSmall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="cli_small_", dir=TMP)
        cls.bed = os.path.join(cls.dir, "r.bed")
        with open(cls.bed, "w") as f:
            f.writelines(open(os.path.join(DATA, "test.bed")).readlines()[:3])
        import random
        rnd = random.Random(5)
        cls.fa = os.path.join(cls.dir, "s.fa")
        with open(cls.fa, "w") as f:
            for i in range(4):
                f.write(">r%d\n%s\n" % (i, "".join(rnd.choice("ACGT") for _ in range(80))))

    def outputs(self, d):
        return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))}

    def check_defaults(self, cmd, base, skip=()):
        """base(dir) -> argv; compare every help default with the parser's."""
        ref = os.path.join(self.dir, cmd + "_ref")
        os.makedirs(ref)
        p = run(*base(ref))
        self.assertEqual(p.returncode, 0, p.stderr)
        want = self.outputs(ref)
        checked = 0
        for opt, val in help_defaults(cmd).items():
            if opt in skip or DESCRIPTIVE.search(val):
                continue
            d = os.path.join(self.dir, "%s_%s" % (cmd, opt.strip("-")))
            os.makedirs(d)
            p = run(*(base(d) + [opt, val]))
            self.assertEqual(p.returncode, 0, "%s %s %s: %s" % (cmd, opt, val, p.stderr))
            self.assertEqual(self.outputs(d), want, "%s: help says %s %s, the parser's default differs" % (cmd, opt, val))
            checked += 1
        return checked

    def test_score_help_defaults(self):
        def base(d):
            return ["score", "-m", os.path.join(DATA, "model.json"), "-f", os.path.join(DATA, "genome.fa.gz"),
                    "-b", self.bed, "--target", "gata", "--tsv", os.path.join(d, "o.tsv"),
                    "--report-json", os.path.join(d, "o.json"), "--motifs", os.path.join(DATA, "motifs.meme")]
        self.assertGreaterEqual(self.check_defaults("score", base), 15)

    def test_predict_extract_help_defaults(self):
        def pbase(d):
            return ["predict", "-m", os.path.join(DATA, "model.json"), "-f", os.path.join(DATA, "genome.fa.gz"),
                    "-b", self.bed, "-o", os.path.join(d, "o.tsv")]
        self.assertGreaterEqual(self.check_defaults("predict", pbase), 2)  # --edge, --threads

        def ebase(d):
            return ["extract", "-f", os.path.join(DATA, "genome.fa.gz"), "-b", self.bed, "-w", "100",
                    "-o", os.path.join(d, "o.fa")]
        self.assertGreaterEqual(self.check_defaults("extract", ebase, skip=("--width",)), 1)  # --edge

    def test_shuffle_help_defaults(self):
        def base(d):
            return ["shuffle", "-o", os.path.join(d, "o.fa"), self.fa]
        self.assertEqual(self.check_defaults("shuffle", base), 3)  # -k, -n, --seed

    def test_report_help_defaults(self):
        pre = os.path.join(self.dir, "npz", "run")
        p = run("score", "-m", os.path.join(DATA, "model.json"), "-f", os.path.join(DATA, "genome.fa.gz"),
                "-b", self.bed, "--target", "gata", "--npz", pre)
        self.assertEqual(p.returncode, 0, p.stderr)
        for cmd in ("report", "seqlets"):
            def base(d, cmd=cmd):
                o = ["--report-json", os.path.join(d, "o.json")] if cmd == "report" else []
                return [cmd, "--npz", pre, "-b", self.bed, "--motifs", os.path.join(DATA, "motifs.meme"),
                        "-o", os.path.join(d, "o.html" if cmd == "report" else "o.bed")] + o
            self.assertGreaterEqual(self.check_defaults(cmd, base), 7)
        p = run("seqlets", "--npz", pre, "--report-regions", "3")
        self.assertEqual(p.returncode, 2)
        self.assertIn("belongs to 'seqlift report'", p.stderr)
        self.assertNotIn("--report-regions", run("seqlets", "--help").stdout)

    def test_version(self):
        for cmd in COMMANDS:
            for flag in ("--version", "-V"):
                p = run(cmd, flag)
                self.assertEqual(p.returncode, 0, (cmd, flag, p.stderr))
                self.assertRegex(p.stdout, r"^seqlift %s \d+\.\d+" % cmd)
        self.assertRegex(run("-V").stdout, r"^seqlift \d")

    def test_s_is_the_sequences(self):
        seqs = self.fa
        a, b = run("shuffle", "-n", 2, "-s", seqs), run("shuffle", "-n", 2, seqs)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(run("shuffle", "-s", "3", seqs).returncode, 2)  # -s is no longer the seed
        self.assertNotEqual(run("shuffle", "-n", 2, "--seed", 3, seqs).stdout, a.stdout)
        for cmd in COMMANDS:
            if cmd != "shuffle":
                self.assertRegex(run(cmd, "--help").stdout, r"-s, --seqs", cmd)

    def test_output_dirs_created(self):
        out = os.path.join(self.dir, "made", "by", "shuffle.fa")
        p = run("shuffle", "-n", 1, "-o", out, os.path.join(SRC, "test_data", "seqs.fa"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.getsize(out) > 0)
        # a file where a directory should be: one line naming it
        block = os.path.join(self.dir, "afile")
        open(block, "w").close()
        p = run("shuffle", "-n", 1, "-o", os.path.join(block, "x.fa"), os.path.join(SRC, "test_data", "seqs.fa"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertIn("not a directory", p.stderr)


if __name__ == "__main__":
    unittest.main()
