"""Forward+backward times of the GDN op's backends, one GDN layer and one attention layer. Prints a table (ms).

    python3 benchmarks/kernels.py            # CUDA if present, else the CPU comparison
    python3 benchmarks/kernels.py --cpu      # the CPU comparison: B=8 T=512 H=4 D=64 fp32, `torch` op vs causal SDPA

On CUDA (bf16 inputs, d_model 256, 4 heads: K=64, V=128) at (B=64, T=256) and (B=16, T=2048): the raw fla op, the
`torch` op eagerly and replayed as a CUDA graph, the GDN layer with each backend and with the op left out (its
projections, convolutions and norms alone), and the attention layer and raw SDPA. Median of CUDA-event timings after
warm-up; inputs are random, never zeros. Figures go to BENCHMARKS.md with the card they came from.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from expressivity.architectures import gdn
from expressivity.architectures.gdn_layer import DeltaRuleMixer
from expressivity.architectures.layers import Attention


def op_inputs(B, T, H, K, V, dtype, device, grad=True):
    q = torch.randn(B, T, H, K, device=device, dtype=dtype)
    k = F.normalize(torch.randn(B, T, H, K, device=device), dim=-1).to(dtype)
    v = torch.randn(B, T, H, V, device=device, dtype=dtype)
    g = F.logsigmoid(torch.randn(B, T, H, device=device) + 3.0)
    beta = (2 * torch.rand(B, T, H, device=device)).to(dtype)
    return [t.requires_grad_(grad) for t in (q, k, v, g, beta)]


def time_ms(fn, *, device: str, reps: int, warmup: int = 3) -> float:
    """Median wall time of fn() in ms (CUDA events on a GPU, thread-independent perf_counter on CPU)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def fwd_bwd_op(backend, inputs, dout):
    def run():
        for t in inputs:
            t.grad = None
        q, k, v, g, beta = inputs
        o, _ = gdn.gated_delta_rule(q, k, v, g=g, beta=beta, backend=backend)
        o.backward(dout)

    return run


def fwd_bwd_module(module, x, autocast: bool):
    def run():
        module.zero_grad(set_to_none=True)
        x.grad = None
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            y = module(x)
        y.float().square().mean().backward()

    return run


def graphed(fn_of_inputs, inputs, dout):
    """The op's fwd+bwd captured once as a CUDA graph and replayed (static shapes: the launch gaps disappear)."""
    static = [t.detach().clone().requires_grad_(True) for t in inputs]
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):  # warm up on a side stream, as capture requires
            fn_of_inputs(static, dout)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn_of_inputs(static, dout)
    return graph.replay


def op_backward_into(backend):
    def fn(inputs, dout):
        q, k, v, g, beta = inputs
        o, _ = gdn.gated_delta_rule(q, k, v, g=g, beta=beta, backend=backend)
        torch.autograd.backward(o, dout)  # grads accumulate into the static leaves' .grad

    return fn


def no_op(q, k, v, g, beta, scale, initial_state, output_final_state):
    return v * 1.0, None  # keeps the graph connected; costs one elementwise pass


def cuda_rows(reps: int) -> list[tuple[str, str, float]]:
    gdn.BACKENDS["none"] = no_op
    has_fla = True
    try:
        import fla.ops.gated_delta_rule  # noqa: F401
    except Exception as err:  # noqa: BLE001
        has_fla = False
        print(f"fla not importable ({type(err).__name__}: {err}); its rows are skipped")
    rows = []

    def row(shape: str, label: str, make_fn, *args) -> None:
        """Time make_fn(*args)(); a failure becomes a printed line and a nan row, not the end of the benchmark."""
        try:
            rows.append((shape, label, time_ms(make_fn(*args), device="cuda", reps=reps)))
        except Exception as err:  # noqa: BLE001
            print(f"{shape} {label}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            rows.append((shape, label, float("nan")))

    d_model, H, K, V, dtype = 256, 4, 64, 128, torch.bfloat16
    for B, T in ((64, 256), (16, 2048)):
        shape = f"B{B} T{T}"
        inputs = op_inputs(B, T, H, K, V, dtype, "cuda")
        dout = torch.randn(B, T, H, V, device="cuda", dtype=dtype)
        if has_fla:
            row(shape, "op fla (bf16)", fwd_bwd_op, "fla", inputs, dout)
        row(shape, "op torch (eager)", fwd_bwd_op, "torch", inputs, dout)
        torch.backends.cuda.matmul.allow_tf32 = True
        row(shape, "op torch (eager, tf32)", fwd_bwd_op, "torch", inputs, dout)
        row(shape, "op torch (CUDA graph, tf32)", graphed, op_backward_into("torch"), inputs, dout)
        torch.backends.cuda.matmul.allow_tf32 = False
        x = torch.randn(B, T, d_model, device="cuda", requires_grad=True)
        for backend in (["fla"] if has_fla else []) + ["torch", "none"]:
            label = "layer GDN, op left out" if backend == "none" else f"layer GDN ({backend})"
            layer = DeltaRuleMixer(d_model, H, neg_eigval=True, backend=backend).cuda()
            row(shape, label + ", autocast", fwd_bwd_module, layer, x, True)
        row(shape, "layer attention, autocast", fwd_bwd_module, Attention(d_model, H).cuda(), x, True)
        qkv = [torch.randn(B, H, T, 64, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3)]
        do = torch.randn(B, H, T, 64, device="cuda", dtype=dtype)

        def sdpa(qkv=qkv, do=do):
            F.scaled_dot_product_attention(*qkv, is_causal=True).backward(do)

        row(shape, "op SDPA causal (bf16, D64)", lambda f: f, sdpa)
    return rows


def cpu_rows(reps: int, with_recurrent: bool) -> list[tuple[str, str, float]]:
    B, T, H, D = 8, 512, 4, 64
    shape = f"B{B} T{T} H{H} D{D}"
    inputs = op_inputs(B, T, H, D, D, torch.float32, "cpu")
    dout = torch.randn(B, T, H, D)
    qkv = [t.detach().transpose(1, 2).contiguous().requires_grad_() for t in inputs[:3]]

    def sdpa():
        F.scaled_dot_product_attention(*qkv, is_causal=True).backward(dout.transpose(1, 2))

    op = fwd_bwd_op("torch", inputs, dout)
    for fn in (op, sdpa):
        fn()
    # interleaved, so that load on a shared machine hits both alike
    t_op, t_sdpa = [], []
    for _ in range(reps):
        t_op.append(time_ms(op, device="cpu", reps=1, warmup=0))
        t_sdpa.append(time_ms(sdpa, device="cpu", reps=1, warmup=0))
    rows = [
        (shape, "op torch (fp32)", statistics.median(t_op)),
        (shape, "op SDPA causal (fp32)", statistics.median(t_sdpa)),
    ]
    if with_recurrent:
        rows.append(
            (shape, "op recurrent (fp32)", time_ms(fwd_bwd_op("recurrent", inputs, dout), device="cpu", reps=2))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="the CPU comparison even when CUDA is present")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--reps", type=int, default=0, help="timed repetitions (default 20 on CUDA, 11 on CPU)")
    parser.add_argument("--recurrent", action="store_true", help="also time the step-by-step op (slow on CPU)")
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and not args.cpu
    if cuda:
        card = torch.cuda.get_device_name()
        rows = cuda_rows(args.reps or 20)
    else:
        torch.set_num_threads(args.threads)
        card = f"CPU, {args.threads} threads"
        rows = cpu_rows(args.reps or 11, args.recurrent)
    print(f"\nfwd+bwd, median ms on {card} (torch {torch.__version__})")
    width = max(len(name) for _, name, _ in rows)
    for shape, name, ms in rows:
        print(f"  {shape:<16} {name:<{width}}  {ms:8.2f}")
    if not cuda:
        ratio = rows[0][2] / rows[1][2]
        print(f"  torch op / SDPA = {ratio:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
