"""The README's commands, checked against the programs that run them.

* Every `seqlift ...` / `build/seqlift ...` line of a ```sh block (continuation lines
  joined) goes through seqlift's own option parser: the line's options followed by
  `--help` must exit 0 (getopt reads options left to right, so an unknown option or a
  bad value stops it with exit 2 before --help is reached).
* `modisco` lines use only options of tfmodisco-lite's argparse (modiscolite/cli.py:
  motifs -s -a -n -l -r -e -w -o -v; seqlet-bed -i -o -p -c -q -w), and `-w` is given.
* The IGV batch snippet loads a genome FASTA, not a named genome (which is downloaded
  and hangs offline).
"""
import os
import re
import shlex
import subprocess
import unittest

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
MODISCO = {"motifs": {"-s", "-a", "-i", "-n", "-l", "-r", "-e", "-w", "-o", "-v"},
           "seqlet-bed": {"-i", "-o", "-p", "-c", "-q", "-w"}}


def blocks(kind):
    """Code blocks fenced with ```kind (kind "" = no language)."""
    out, cur = [], None
    for line in open(os.path.join(SRC, "README.md")):
        if line.startswith("```"):
            if cur is None:
                cur = [] if line.strip() == "```" + kind else False
            else:
                if cur is not False:
                    out.append("".join(cur))
                cur = None
        elif cur:
            cur.append(line)
        elif cur == []:
            cur.append(line)
    return out


def command_lines(kind="sh"):
    for b in blocks(kind):
        joined = re.sub(r"\\\n\s*", " ", b)
        for line in joined.splitlines():
            line = line.split(" #")[0].strip()
            if line:
                yield line


class ReadmeCommands(unittest.TestCase):
    def test_seqlift_lines_parse(self):
        n = 0
        for line in command_lines():
            words = shlex.split(line)
            if not words or not words[0].endswith("seqlift"):
                continue
            cmd = [SEQLIFT] + [w for w in words[1:] if w != "..."] + ["--help"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, "%s\n%s" % (line, p.stderr))
            n += 1
        self.assertGreater(n, 10)

    def test_modisco_lines(self):
        seen = set()
        for line in command_lines():
            words = shlex.split(line)
            if not words or words[0] != "modisco":
                continue
            sub = words[1]
            opts = {w for w in words[2:] if w.startswith("-")}
            self.assertTrue(opts <= MODISCO[sub], (line, opts - MODISCO[sub]))
            seen.add(sub)
            if sub == "motifs":
                self.assertIn("-w", opts, line)
        self.assertEqual(seen, {"motifs", "seqlet-bed"})

    def test_igv_batch_genome_is_a_file(self):
        found = 0
        for b in blocks(""):
            for line in b.splitlines():
                if line.startswith("genome "):
                    self.assertRegex(line, r"^genome \S+\.(fa|fasta)(\.gz)?$")
                    found += 1
        self.assertGreater(found, 0)


if __name__ == "__main__":
    unittest.main()
