"""The `torch` backend of the gated delta rule: the chunked WY / UT-transform form, forward and backward by hand.

Within a chunk of C steps, with start state h0 [K, V], Gam_t = exp(sum of g up to t within the chunk),
D[t, s] = Gam_t / Gam_s for s <= t (else 0), the corrected values U [C, V] that the steps add to the state satisfy

    (I + L) U = beta*V - (beta*Gam*K) h0,       L[t, s] = beta_t (k_t . k_s) D[t, s]   (s < t)

so one triangular solve, which needs no h0, gives U = Unew - W h0 for every chunk at once. Only the chunk-to-chunk
recurrence is sequential (N = T / C steps of two small matmuls):

    h_next = Gam_C h0 + (K * Gam_C / Gam)^T U          O = scale * (Gam*Q h0 + (Q K^T * D) U)

The backward pass is written out (not left to autograd) because autograd's version of this graph costs about twice as
much on CPU: it saves every intermediate and scatters the per-chunk gradients. It is checked against autograd through
the `recurrent` definition in float64 (tests/architectures/test_arch_ops.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Rows per chunk by device type: on CPU 32 did fewer flops and ran faster than 16 or 64 (B=8, T=512, K=V=64);
# on GPU larger chunks mean fewer sequential steps (launches), and 64 is fla's chunk size too.
CHUNK = {"cpu": 32, "cuda": 64}


def _mm(a: torch.Tensor, b: torch.Tensor, *, add: torch.Tensor | None = None, alpha: float = 1.0) -> torch.Tensor:
    """add + alpha * (a @ b) over matching leading dims, in one fused call of the bmm family."""
    out_shape = (*a.shape[:-1], b.shape[-1])
    a, b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    if add is None and alpha == 1.0:
        out = torch.bmm(a, b)
    elif add is None:  # a broadcast scalar input with beta=0 is never read
        out = torch.baddbmm(a.new_zeros(()), a, b, beta=0.0, alpha=alpha)
    else:
        out = torch.baddbmm(add.reshape(-1, *add.shape[-2:]), a, b, alpha=alpha)
    return out.view(out_shape)


def _acc(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, alpha: float = 1.0) -> None:
    """out += alpha * (a @ b) in place; out is a contiguous [..., m, n] slice."""
    out.view(-1, *out.shape[-2:]).baddbmm_(a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:]), alpha=alpha)


def _rowdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(a * b).sum(-1) as one batched matmul: one pass and no product tensor (about 2x faster for rows of 32-64)."""
    n = a.shape[-1]
    return torch.bmm(a.reshape(-1, 1, n), b.reshape(-1, n, 1)).view(a.shape[:-1])


def _solve_unit_lower(L: torch.Tensor, rhs: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
    """(I + strict_lower(L))^{-1} rhs, or (I + strict_lower(L))^{-T} rhs, in place in rhs; unitriangular reads only
    the strict triangle."""
    A, upper = (L.mT, True) if transpose else (L, False)
    return torch.linalg.solve_triangular(A, rhs, upper=upper, unitriangular=True, out=rhs)


def _decays(g: torch.Tensor):
    """From g (..., C): D (..., C, C) = exp(G_t - G_s) for s <= t else 0, Gam = exp(G) and exp(G_C - G), where G is
    the in-chunk cumulative sum of g."""
    G = g.cumsum(-1)
    # Above the diagonal the exponent is positive and may overflow to inf; tril_ overwrites those entries with 0.
    D = (G[..., :, None] - G[..., None, :]).exp_().tril_()
    return D, G.exp(), (G[..., -1:] - G).exp()


class _ChunkedDeltaRule(torch.autograd.Function):
    """Chunk-major inputs q, k [N, B, H, C, K], v [N, B, H, C, V], g, beta [N, B, H, C], h0 [B, H, K, V]
    -> (o [N, B, H, C, V], final state [B, H, K, V]).

    Chunk-major so that each chunk's slice is contiguous and the sequential loop writes into preallocated buffers.
    Names: S = (K K^T) * D, L = beta * S (row-wise), P = scale * (Q K^T) * D. On CPU, allocating a large tensor costs
    about as much as a pass over it (fresh pages), so both passes write in place wherever a buffer is free.
    """

    @staticmethod
    def forward(ctx, q, k, v, g, beta, h0, scale):
        N, V, K = q.shape[0], v.shape[-1], k.shape[-1]
        D, gam_t, decay_to_end = _decays(g)
        S = _mm(k, k.mT).mul_(D)
        L = S * beta[..., None]
        X = torch.empty(*v.shape[:-1], V + K, dtype=v.dtype, device=v.device)  # the right-hand sides, then [Unew | W]
        torch.mul(v, beta[..., None], out=X[..., :V])
        torch.mul(k, (beta * gam_t)[..., None], out=X[..., V:])
        _solve_unit_lower(L, X)
        u_new, W = X[..., :V], X[..., V:]
        kd = k * decay_to_end[..., None]
        gam = gam_t[..., -1, None, None]  # [N, B, H, 1, 1]: the decay over a whole chunk
        hs = q.new_empty(N + 1, *h0.shape)  # hs[n]: the state entering chunk n; hs[N]: the final state
        u = torch.empty_like(v)
        hs[0] = h0
        for n in range(N):  # the sequential part: N = T / C steps of two small matmuls
            u[n] = u_new[n]
            _acc(u[n], W[n], hs[n], alpha=-1.0)
            torch.mul(hs[n], gam[n], out=hs[n + 1])
            _acc(hs[n + 1], kd[n].mT, u[n])
        qg = q * (gam_t * scale)[..., None]
        P = _mm(q, k.mT, alpha=scale).mul_(D)
        o = _mm(P, u)
        _acc(o, qg, hs[:N])
        # Saving these costs memory of the order of q, k, v and spares the backward pass recomputing them.
        ctx.save_for_backward(q, k, v, g, beta, X, hs, u, S, L, P, D, kd, qg)
        ctx.scale, ctx.device_type = scale, q.device.type
        return o, hs[N]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, do, dh_final):
        # A backward pass started inside an autocast region would otherwise run these matmuls in half precision.
        with torch.autocast(ctx.device_type, enabled=False):
            return _ChunkedDeltaRule._backward(ctx, do, dh_final)

    @staticmethod
    def _backward(ctx, do, dh_final):
        q, k, v, g, beta, X, hs, u, S, L, P, D, kd, qg = ctx.saved_tensors
        N, V = q.shape[0], v.shape[-1]
        G = g.cumsum(-1)
        gam_t, decay_to_end = G.exp(), (G[..., -1:] - G).exp()
        gam = gam_t[..., -1, None, None]
        W = X[..., V:]
        h_all = hs[:N]
        do = torch.zeros_like(u) if do is None else do.contiguous()

        # The chunk recurrence backwards. dhs[n + 1] is the gradient of the state leaving chunk n; it starts as what
        # o = (Gam*Q) h sends to h, du as what o = P u sends to u, and the loop adds the recurrent terms in place.
        dhs = torch.empty_like(hs)
        torch.matmul(qg.mT, do, out=dhs[:N])
        dhs[N] = 0.0 if dh_final is None else dh_final
        du = _mm(P.mT, do)
        for n in reversed(range(N)):
            _acc(du[n], kd[n], dhs[n + 1])
            dhs[n].addcmul_(dhs[n + 1], gam[n])
            _acc(dhs[n], W[n].mT, du[n], alpha=-1.0)
        dh_next = dhs[1:]
        dgam = torch.linalg.vecdot(dh_next.flatten(-2), h_all.flatten(-2))  # [N, B, H]: of the whole-chunk decay

        # Everything else is parallel over chunks.
        dkd = _mm(u, dh_next.mT)
        dq = _mm(do, h_all.mT)  # gradient of Gam*Q*scale, made into dq in place below
        dP = _mm(do, u.mT)
        # Gradients of the right-hand sides beta*V and beta*Gam*K, through Unew = (I + L)^-1 R_v, W = (I + L)^-1 R_w.
        dRw = _solve_unit_lower(L, _mm(du, h_all.mT, alpha=-1.0), transpose=True)
        dRu = _solve_unit_lower(L, du, transpose=True)  # du is not needed any more
        dL = _mm(dRu, X[..., :V].mT)
        _acc(dL, dRw, W.mT)
        dL.tril_(-1).neg_()  # gradient of the strict lower triangle of L

        # Row dot products first: they read tensors that the in-place steps below turn into gradients.
        dRw_k = _rowdot(dRw, k)
        dbeta = _rowdot(dL, S) + _rowdot(dRu, v) + gam_t * dRw_k
        de = _rowdot(dkd, k) * decay_to_end
        dG = beta * dRw_k * gam_t + _rowdot(dq, qg) - de
        dG[..., -1] += de.sum(-1) + dgam * gam[..., 0, 0]
        M = dL * L  # dLoss/dD * D; D's two exponents take it with opposite signs
        M.addcmul_(dP, P)
        dG += M.sum(-1) - M.sum(-2)
        dg = dG.flip(-1).cumsum(-1).flip(-1)

        # Now, in place: dq from qg = Gam*Q*scale and P; dk from kd, the right-hand side, K K^T and P; dv.
        dQK = dP.mul_(D).mul_(ctx.scale)
        dq.mul_((gam_t * ctx.scale)[..., None])
        _acc(dq, dQK, k)
        dKK = dL.mul_(beta[..., None]).mul_(D)
        dk = dkd.mul_(decay_to_end[..., None]).addcmul_(dRw, (beta * gam_t)[..., None])
        _acc(dk, dKK + dKK.mT, k)  # K K^T is symmetric
        _acc(dk, dQK.mT, q)
        dv = dRu.mul_(beta[..., None])
        return dq, dk, dv, dg, dbeta, dhs[0], None


def chunked_delta_rule(q, k, v, g, beta, scale, initial_state, output_final_state):
    """The `torch` backend: q, k [B, T, H, K], v [B, T, H, V], g, beta [B, T, H] -> (o [B, T, H, V], h or None)."""
    dtype = q.dtype
    # torch has no half-precision triangular solve, so bf16/fp16 inputs are computed in fp32 and cast back.
    ct = torch.float64 if dtype == torch.float64 else torch.float32
    B, T, H, K = q.shape
    V = v.shape[-1]
    C = min(CHUNK.get(q.device.type, 64), T)
    pad = (-T) % C
    N = (T + pad) // C

    def chunks(x):  # (B, T, H, ...) -> (N, B, H, C, ...), zero-padded: padded steps have k = beta = g = 0, no effect
        x = x.to(ct)
        if pad:
            x = F.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))
        x = x.reshape(B, N, C, H, *x.shape[3:])
        return x.permute(1, 0, 3, 2, *range(4, x.dim())).contiguous()  # one copy here saves one in every matmul

    h0 = q.new_zeros(B, H, K, V, dtype=ct) if initial_state is None else initial_state.to(ct)
    o, h = _ChunkedDeltaRule.apply(*(chunks(x) for x in (q, k, v, g, beta)), h0, scale)
    o = o.permute(1, 0, 3, 2, 4).reshape(B, N * C, H, V)[:, :T].to(dtype)
    return o, (h if output_final_state else None)
