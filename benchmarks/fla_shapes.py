"""Which (H, K, V) head shapes fla-core's GDN kernels survive on this GPU, each tried in its own process.

    PYTHONPATH=/tmp/site:. python3 benchmarks/fla_shapes.py 2,32,64 2,64,128

A kernel crash (a CUDA illegal memory access) poisons the whole CUDA context, so the layers' first-use self-check
cannot recover from one; this script runs `gdn.self_check("fla", ...)` (outputs, final state and every gradient
against the `torch` backend, bf16, beta in [0, 2]) in a child process per shape with CUDA_LAUNCH_BLOCKING=1, so a
crash names its kernel and leaves the other shapes alone. Use it to revise `gdn.MIN_KEY_DIM`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def check_one(shape: tuple[int, int, int]) -> None:
    import torch

    from expressivity.architectures import gdn

    reason = gdn.self_check("fla", torch.device("cuda"), torch.bfloat16, shape)
    torch.cuda.synchronize()
    print("agrees with torch" if not reason else f"disagrees: {reason}")


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        check_one(tuple(int(x) for x in sys.argv[2].split(",")))
        return
    shapes = sys.argv[1:] or ["2,32,64", "2,64,128"]
    env = {**os.environ, "CUDA_LAUNCH_BLOCKING": "1"}
    print("H,K,V       seconds  result")
    for shape in shapes:
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--one", shape], capture_output=True, text=True, env=env, timeout=150
            )
            lines = (done.stdout + done.stderr).strip().splitlines()
            result = lines[-1] if done.returncode == 0 else f"crashed (exit {done.returncode})"
            if done.returncode != 0:
                kernels = [line.strip() for line in lines if "fla/ops" in line][-1:]
                result += f": {lines[-1][:160] if lines else ''} {kernels}"
        except subprocess.TimeoutExpired:
            result = "timed out after 150 s"
        print(f"{shape:10s} {time.monotonic() - started:8.1f}  {result}")


if __name__ == "__main__":
    main()
