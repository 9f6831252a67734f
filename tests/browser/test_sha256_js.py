"""The upload page's incremental SHA-256 (static/sha256.js) gives hashlib's
digest, whatever the size (around the 55/56/64-byte padding edges and past a
few MiB) and however the bytes are cut into update() calls."""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[2] / "services" / "review" / "static" / "sha256.js"
SIZES = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65537, 1024 * 1024 + 7,
         5 * 1024 * 1024 + 13]


def data_for(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def run_js(cases: list[dict]) -> list[str]:
    """Each case: seed and size (the JS side makes the same bytes from the hex given) and chunk sizes."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = f"""
      import {{ Sha256, sha256Hex }} from {json.dumps(MODULE.as_uri())};
      import {{ readFileSync }} from "node:fs";
      const cases = JSON.parse(readFileSync(0, "utf8"));
      const out = cases.map((c) => {{
        if (c.text !== undefined) return sha256Hex(c.text);
        const bytes = new Uint8Array(Buffer.from(c.hex, "hex"));
        const h = new Sha256();
        let at = 0, i = 0;
        while (at < bytes.length) {{
          const n = c.chunks.length ? c.chunks[i++ % c.chunks.length] : bytes.length;
          h.update(bytes.subarray(at, at + n));
          at += n;
        }}
        return h.hex();
      }});
      console.log(JSON.stringify(out));
    """
    out = subprocess.run([node, "--input-type=module", "-e", script], input=json.dumps(cases),
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_js_sha256_equals_hashlib_at_every_size_and_chunking():
    cases, expected = [], []
    for seed, size in enumerate(SIZES):
        data = data_for(size, seed)
        for chunks in ([], [1], [7, 64, 3], [1024 * 1024]):
            if chunks == [1] and size > 4096:
                continue  # byte by byte is slow in a test, and 4096 bytes covers it
            cases.append({"hex": data.hex(), "chunks": chunks})
            expected.append(hashlib.sha256(data).hexdigest())
    got = run_js(cases)
    assert len(got) == len(expected) > 60
    for case, want, have in zip(cases, expected, got):
        assert have == want, (len(case["hex"]) // 2, case["chunks"])


def test_known_vectors_and_the_fingerprint_text():
    texts = ["", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "hero_v1.mov|20736000|1700000000000", "Émile ✓.mov|1|2"]
    got = run_js([{"text": t} for t in texts])
    assert got[1] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert got == [hashlib.sha256(t.encode()).hexdigest() for t in texts]
