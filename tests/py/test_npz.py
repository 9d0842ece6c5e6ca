"""numpy on the other side of the npz writer/reader (src/out/npz.c).

The C side is driven through the test_npz executable (next to the seqlift binary):
`test_npz write FILE [--zip64] [--shuffle] D0 ...` and `test_npz dump FILE [NAME]`.
"""
import os
import subprocess
import tempfile
import unittest
import zipfile

import numpy as np

BUILD = os.path.dirname(os.environ.get("SEQLIFT", "build/seqlift"))
DRIVER = os.path.join(BUILD, "test_npz")
TMP = os.environ.get("SEQLIFT_TMP", "build/test_tmp")


def expected(shape):
    """The values test_npz writes: ((i % 1000) * 0.001 - 0.5) as float32, C order."""
    n = int(np.prod(shape))
    return ((np.arange(n) % 1000) * 0.001 - 0.5).astype(np.float32).reshape(shape)


def dump(path, name=None):
    """(returncode, shape, values) of the C reader on path."""
    cmd = [DRIVER, "dump", path] + ([name] if name else [])
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        return p.returncode, p.stderr, None
    lines = p.stdout.split("\n")
    head = [int(x) for x in lines[0].split()]
    shape = tuple(head[1:])
    vals = np.array([float(x) for x in lines[1:] if x], dtype=np.float64).astype(np.float32)
    return 0, shape, vals.reshape(shape)


class NpzTest(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="py_test_npz.", dir=TMP)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, shape, *flags):
        path = self.path(name)
        subprocess.run([DRIVER, "write", path, *flags, *map(str, shape)], check=True)
        return path

    def test_note_entry(self):
        """sl_npz_set_note: a second entry, a 0-d unicode array after arr_0 (stored, ZIP64
        too); numpy and zipfile read both, arr_0 stays the first entry (TF-MoDISco's
        np.load(f)['arr_0']) and seqlift's reader still takes it by default."""
        text = "seqlift 1.0 score model=m\u00e9l.json refs=dinuc:20"
        for flags in [(), ("--zip64",), ("--zip64", "--shuffle")]:
            path = self.write("n.npz", (3, 4, 5), "--note", text, *flags)
            with zipfile.ZipFile(path) as zf:
                self.assertIsNone(zf.testzip())
            with np.load(path) as z:
                self.assertEqual(z.files, ["arr_0", "seqlift"])
                self.assertEqual(str(z["seqlift"]), text)
                self.assertEqual(z["arr_0"].shape, (3, 4, 5))
                self.assertEqual(list(z.values())[0].shape, (3, 4, 5))
            out = subprocess.run([DRIVER, "dump", path], check=True, capture_output=True, text=True).stdout
            self.assertEqual(out, subprocess.run([DRIVER, "dump", self.write("p.npz", (3, 4, 5), *flags)],
                                                 check=True, capture_output=True, text=True).stdout)

    def test_numpy_loads_what_we_write(self):
        for shape in [(6, 4, 11), (1, 4, 2114), (9,), (0, 4, 5), (3, 2, 2, 2)]:
            for flags in [(), ("--shuffle",), ("--zip64",), ("--zip64", "--shuffle")]:
                path = self.write("w.npz", shape, *flags)
                with np.load(path) as z:
                    self.assertEqual(z.files, ["arr_0"])
                    a = z["arr_0"]
                self.assertEqual(a.dtype, np.float32)
                self.assertEqual(a.shape, shape)
                self.assertTrue(a.flags["C_CONTIGUOUS"])
                np.testing.assert_array_equal(a, expected(shape))
                with zipfile.ZipFile(path) as zf:
                    self.assertIsNone(zf.testzip())  # CRC verified by zipfile
                    info = zf.getinfo("arr_0.npy")
                    self.assertEqual(info.compress_type, zipfile.ZIP_STORED)
                with open(path, "rb") as f:
                    raw = f.read()
                self.assertEqual(b"PK\x06\x06" in raw, "--zip64" in flags)

    def test_we_read_what_numpy_writes(self):
        rng = np.random.default_rng(7)
        a32 = rng.normal(size=(5, 4, 13)).astype(np.float32)
        a64 = rng.normal(size=(3, 7))
        p1 = self.path("savez.npz")
        np.savez(p1, a32)
        code, shape, vals = dump(p1)
        self.assertEqual(code, 0)
        self.assertEqual(shape, a32.shape)
        np.testing.assert_array_equal(vals, a32)

        p2 = self.path("compressed.npz")
        np.savez_compressed(p2, a32, a64)
        for name, ref in [("arr_0", a32), ("arr_1", a64.astype(np.float32))]:
            code, shape, vals = dump(p2, name)
            self.assertEqual(code, 0, shape)
            self.assertEqual(shape, ref.shape)
            np.testing.assert_array_equal(vals, ref)

        p3 = self.path("named.npz")
        np.savez_compressed(p3, ohe=a32, hyp=a64, big=a64.astype(">f8"), bige=a32.astype(">f4"))
        np.testing.assert_array_equal(dump(p3, "hyp")[2], a64.astype(np.float32))
        np.testing.assert_array_equal(dump(p3, "big")[2], a64.astype(np.float32))
        np.testing.assert_array_equal(dump(p3, "bige")[2], a32)
        self.assertNotEqual(dump(p3, "nope")[0], 0)

    def test_rejects_unsupported_and_broken(self):
        a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        cases = {
            "fortran.npz": np.asfortranarray(a),
            "int.npz": a.astype(np.int32),
            "f16.npz": a.astype(np.float16),
        }
        for name, arr in cases.items():
            p = self.path(name)
            np.savez(p, arr)
            code, err, _ = dump(p)
            self.assertEqual(code, 1, name)
            self.assertIn(p, err)
            self.assertEqual(err.count("\n"), 1, err)  # one error line
        for compressed in (False, True):
            p = self.path("trunc.npz")
            (np.savez_compressed if compressed else np.savez)(p, a)
            with open(p, "rb") as f:
                raw = f.read()
            for cut in range(0, len(raw), 7):
                with open(p, "wb") as f:
                    f.write(raw[:cut])
                code, err, _ = dump(p)
                self.assertEqual(code, 1, (compressed, cut, err))
            # a corrupted deflate stream or data byte: clean failure (CRC or inflate)
            for off in range(40, len(raw) - 120, 5):
                bad = bytearray(raw)
                bad[off] ^= 0xFF
                with open(p, "wb") as f:
                    f.write(bytes(bad))
                code, _, vals = dump(p)
                self.assertIn(code, (0, 1))
                if code == 0:
                    np.testing.assert_array_equal(vals, a)


if __name__ == "__main__":
    unittest.main()
