"""benchmarks/gpu_setup.sh's Triton cache: what a cache hit loads travels, the intermediate IR stays behind; the
committed cache and a carried one are restored in order."""

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("xz") is None, reason="needs xz, as the lent machine has")
def test_the_saved_cache_holds_kernels_metadata_and_launchers_but_not_their_intermediate_ir(
    tmp_path, gpu_setup_function
):
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
    env = {"PATH": "/usr/bin:/bin", "TRITON_CACHE_DIR": str(cache), "OUT": str(out)}
    command = gpu_setup_function("save_triton_cache") + "save_triton_cache"
    saved = subprocess.run(["bash", "-c", command], check=True, capture_output=True, text=True, env=env)
    assert "torch.compile's kernels, left behind:" in saved.stdout  # their size packed, for a later choice
    parts = sorted(out.glob("triton_cache.txz.part*"))
    assert parts
    joined = tmp_path / "cache.txz"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(joined, "r:xz") as tar:
        names = {Path(m.name).name for m in tar.getmembers() if m.isfile()}
    assert names == set(kept)


def _archive(path: Path, files: dict[str, str]) -> None:
    """An xz tar of {relative path: text}, as save_triton_cache writes one."""
    with tarfile.open(path, "w:xz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _restore(repo: Path, cache: Path, restore: str) -> None:
    """Run `restore` (restore_triton_cache's definition) in `repo` into `cache`."""
    env = {"PATH": "/usr/bin:/bin", "TRITON_CACHE_DIR": str(cache), "FLA_TRITON_CACHE": "benchmarks/fla.txz"}
    subprocess.run(["bash", "-c", restore + "restore_triton_cache"], check=True, cwd=repo, env=env)


@pytest.mark.skipif(shutil.which("xz") is None, reason="needs xz, as the lent machine has")
def test_restore_unpacks_the_committed_cache_then_a_carried_one_over_it_and_only_into_an_empty_cache(
    tmp_path, gpu_setup_function
):
    restore = gpu_setup_function("restore_triton_cache")
    repo = tmp_path / "repo"
    (repo / "benchmarks").mkdir(parents=True)
    _archive(repo / "benchmarks" / "fla.txz", {"A/gdn.cubin": "committed", "B/conv.cubin": "committed"})
    alone = tmp_path / "alone"
    alone.mkdir()
    _restore(repo, alone, restore)  # a new checkout: no .triton/
    assert {p.relative_to(alone).as_posix(): p.read_text() for p in alone.rglob("*.cubin")} == {
        "A/gdn.cubin": "committed",
        "B/conv.cubin": "committed",
    }
    (repo / ".triton").mkdir()
    _archive(repo / ".triton" / "whole.txz", {"A/gdn.cubin": "carried", "C/new.cubin": "carried"})
    whole = (repo / ".triton" / "whole.txz").read_bytes()  # in pieces, as calls bring them back
    (repo / ".triton" / "triton_cache.txz.partaa").write_bytes(whole[:100])
    (repo / ".triton" / "triton_cache.txz.partab").write_bytes(whole[100:])
    (repo / ".triton" / "whole.txz").unlink()
    both = tmp_path / "both"
    both.mkdir()
    _restore(repo, both, restore)
    assert {p.relative_to(both).as_posix(): p.read_text() for p in both.rglob("*.cubin")} == {
        "A/gdn.cubin": "carried",  # the carried cache is the newer
        "B/conv.cubin": "committed",
        "C/new.cubin": "carried",
    }
    (both / "C" / "new.cubin").write_text("compiled in this call")
    _restore(repo, both, restore)  # a second pilot of the same call: the cache is left as it is
    assert (both / "C" / "new.cubin").read_text() == "compiled in this call"
