"""test_shuffle.py — `seqlift shuffle` checked from outside the C code: the shuffles of
short sequences are uniform over every sequence with the same k-mer counts (enumerated
here in Python, chi-square p-value from the Wilson–Hilferty approximation), and every
shuffle keeps the k-mer counts of its record."""
import collections
import math
import os
import subprocess
import tempfile
import unittest

SEQLIFT = os.environ.get("SEQLIFT", "build/seqlift")
TMP = os.environ.get("SEQLIFT_TMP", "build/test_tmp")


def kmer_counts(s, k):
    return collections.Counter(s[i:i + k] for i in range(len(s) - k + 1))


def same_count_class(s, k):
    """Every sequence of len(s) with s's k-mer counts and s's first k-1 bases."""
    want, out = kmer_counts(s, k), []

    def dfs(cur):
        if len(cur) == len(s):
            out.append(cur)
            return
        for b in "ACGT":
            km = cur[len(cur) - k + 1:] + b
            if want[km] > 0:
                want[km] -= 1
                dfs(cur + b)
                want[km] += 1

    dfs(s[:k - 1])
    return out


def chi2_sf(x, df):
    """Upper tail of chi-square (Wilson–Hilferty; good to ~1e-3 relative for df >= 10)."""
    z = ((x / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def shuffles(seq, k, n, seed=1):
    os.makedirs(TMP, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".fa", dir=TMP, delete=False) as f:
        f.write(">q\n%s\n" % seq)
    try:
        out = subprocess.run([SEQLIFT, "shuffle", "-k", str(k), "-n", str(n), "--seed", str(seed), f.name],
                             check=True, capture_output=True, text=True).stdout.split("\n")
    finally:
        os.unlink(f.name)
    names, seqs = out[0:-1:2], out[1:-1:2]
    assert names == [">q_shuf%d" % i for i in range(n)], names[:3]
    return seqs


class TestShuffleUniform(unittest.TestCase):
    def test_chi2_sf(self):
        # table values: 95th percentiles for df 10, 71, 100
        for x, df in ((18.307, 10), (91.670, 71), (124.342, 100)):
            self.assertAlmostEqual(chi2_sf(x, df), 0.05, delta=0.002)

    def check_uniform(self, seq, k, n, classes):
        cls = same_count_class(seq, k)
        self.assertEqual(len(cls), classes)
        got = collections.Counter(shuffles(seq, k, n))
        self.assertEqual(set(got) - set(cls), set(), "shuffles outside the count class")
        self.assertEqual(len(got), classes, "some sequences never drawn")
        e = n / classes
        x2 = sum((got[c] - e) ** 2 / e for c in cls)
        p = chi2_sf(x2, classes - 1)
        print("%s k=%d: %d sequences, %d shuffles, chi2=%.1f, p=%.3g" % (seq, k, classes, n, x2, p))
        self.assertGreater(p, 1e-3)

    def test_dinucleotide(self):
        # first != last, so these 72 are all the sequences with these dinucleotide counts
        self.check_uniform("ACGTTGCAAGCT", 2, 40000, 72)

    def test_trinucleotide(self):
        self.check_uniform("AGGACGCGGAGACCGAAG", 3, 30000, 96)

    def test_counts_long(self):
        import random
        rng = random.Random(5)
        seq = "".join(rng.choice("ACGT") for _ in range(1500))
        for k in (1, 2, 4):
            for s in shuffles(seq, k, 10, seed=3):
                self.assertEqual(kmer_counts(s, k), kmer_counts(seq, k))
                self.assertNotEqual(s, seq)
                if k > 1:
                    self.assertEqual(s[:k - 1], seq[:k - 1])
                    self.assertEqual(s[-(k - 1):], seq[-(k - 1):])


if __name__ == "__main__":
    unittest.main()
