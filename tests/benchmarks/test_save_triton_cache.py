"""benchmarks/gpu_setup.sh's save_triton_cache: what a cache hit loads travels, the intermediate IR stays behind."""

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("xz") is None, reason="needs xz, as the lent machine has")
def test_the_saved_cache_holds_kernels_metadata_and_launchers_but_not_their_intermediate_ir(tmp_path):
    cache, out = tmp_path / "triton_cache", tmp_path / "out"
    fla, compiled = cache / "FLAKERNEL", cache / "INDUCTORKERNEL"
    fla.mkdir(parents=True)
    compiled.mkdir()
    out.mkdir()
    kept = ["chunk_fwd.json", "__grp__chunk_fwd.json", "chunk_fwd.cubin", "chunk_fwd.autotune.json", "launcher.so"]
    left = ["chunk_fwd.source", "chunk_fwd.ttir", "chunk_fwd.ttgir", "chunk_fwd.llir", "chunk_fwd.ptx"]
    for name in kept + left:
        (fla / name).write_text(name)
    (compiled / "__grp__triton_poi_fused_0.json").write_text("{}")  # torch.compile's: never saved
    (compiled / "triton_poi_fused_0.cubin").write_text("x")
    # The function alone, as the GPU scripts get it from `source benchmarks/gpu_setup.sh` (which also installs fla).
    script = (ROOT / "benchmarks" / "gpu_setup.sh").read_text()
    function = script[script.index("save_triton_cache() {") :]
    function = function[: function.index("\n}\n") + 3]
    saved = subprocess.run(["bash", "-c", function + "save_triton_cache"], check=True, capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "TRITON_CACHE_DIR": str(cache), "OUT": str(out)})  # fmt: skip
    assert "torch.compile's kernels, left behind:" in saved.stdout  # their size packed, for a later choice
    parts = sorted(out.glob("triton_cache.txz.part*"))
    assert parts
    joined = tmp_path / "cache.txz"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(joined, "r:xz") as tar:
        names = {Path(m.name).name for m in tar.getmembers() if m.isfile()}
    assert names == set(kept)
