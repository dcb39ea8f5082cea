"""Exact expected accuracies of the shortcut guessers (`shortcuts.py`), for the tasks that declare a closed form.

Each function is the accuracy of one named guesser, computed from the task's generating law (no sampling), so a
task's `shortcut_acc` is a number to check measurements against, not a measurement itself.
"""

from __future__ import annotations

import functools
import math

import numpy as np


def best_of(scores: dict[str, float]) -> tuple[float, str]:
    """(accuracy, name) of the best guesser; on a tie (to rounding) the first listed, so the simplest name wins."""
    top = max(scores.values())
    return top, next(name for name, acc in scores.items() if acc >= top - 1e-12)


@functools.lru_cache(maxsize=256)
def majority_share(n: int, k: int) -> float:
    """E[largest count] / n for n independent uniform draws over k symbols: the accuracy of guessing the most frequent
    input symbol (any tie rule that depends only on the counts) for an answer that is one of the draws, chosen
    independently of their values. Exact for every n (E[max(K, n-K)] / n for k = 2).

    Poissonised: the counts of n draws are k iid Poisson(n/k) variables conditioned on their sum being n, so
    P(max <= m) = P(all <= m, sum = n) / P(sum = n); the k-fold convolution is taken by FFT, truncated at n."""
    if n <= 0:
        raise ValueError(f"majority_share needs n >= 1, got {n}")
    if k == 1 or n == 1:
        return 1.0
    lam = n / k
    j = np.arange(n + 1)
    log_pois = -lam + j * math.log(lam) - np.array([math.lgamma(v + 1) for v in j])
    pois = np.exp(log_pois)
    at_n = math.exp(-n + n * math.log(n) - math.lgamma(n + 1))  # P(Poisson(n) = n): the sum's law at n
    size = 1 << (2 * n + 1).bit_length()
    expected_max = math.ceil(n / k)  # P(max <= m) = 0 below ceil(n / k): every m < that counts in full
    for m in range(expected_max, n):
        p_le = _power_at(np.where(j <= m, pois, 0.0), k, n, size) / at_n
        if p_le >= 1 - 1e-13:
            break
        expected_max += 1 - min(p_le, 1.0)
    return expected_max / n


def _power_at(p: np.ndarray, k: int, n: int, size: int) -> float:
    """Coefficient n of the k-fold self-convolution of p (length n + 1), by repeated squaring with truncation."""
    result, base = None, p
    while k:
        if k & 1:
            result = base if result is None else _convolve(result, base, n, size)
        k >>= 1
        if k:
            base = _convolve(base, base, n, size)
    return float(result[n])


def _convolve(a: np.ndarray, b: np.ndarray, n: int, size: int) -> np.ndarray:
    out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[: n + 1]
    return np.maximum(out, 0.0)  # FFT round-off around zero


def binomial_pmf(n: int, p: float = 0.5) -> np.ndarray:
    """(n + 1,) P(Bin(n, p) = j), exact in float64 via log-gamma."""
    j = np.arange(n + 1)
    if p in (0.0, 1.0):
        return (j == (n if p == 1.0 else 0)).astype(float)
    logs = np.array([math.lgamma(n + 1) - math.lgamma(v + 1) - math.lgamma(n - v + 1) for v in j])
    return np.exp(logs + j * math.log(p) + (n - j) * math.log1p(-p))


def bit_count_shortcuts(length: int, m: int) -> dict[str, float]:
    """Guessers on a string of `length` fair bits whose answer is (number of 1s) mod m (parity: m = 2), using the
    tokens "0" and "1" for bits and residues alike: {guesser: accuracy}.

    - position_prior: the commonest residue; - majority_symbol: copy the commoner bit (a tie: "0");
    - first_symbol / last_symbol: copy the first / last bit; - count_tie: the commonest residue given whether the
    string holds as many 1s as 0s (a tie of length / 2 ones fixes the answer; without one, the other residues gain).
    """
    k = np.arange(length + 1)
    pk = binomial_pmf(length)
    residue = k % m
    by_residue = np.bincount(residue, weights=pk, minlength=m)
    majority = (k > length / 2).astype(np.int64)  # copies "1" only when 1s are strictly more
    # Joint law of K and the last bit: the last bit is 1 with weight P(K - 1 ones among the other length - 1).
    rest = binomial_pmf(length - 1)
    last_one = np.concatenate([[0.0], rest]) / 2
    last_zero = np.concatenate([rest, [0.0]]) / 2
    tie = k * 2 == length
    with_tie = np.bincount(residue[tie], weights=pk[tie], minlength=m).max() if tie.any() else 0.0
    without_tie = np.bincount(residue[~tie], weights=pk[~tie], minlength=m).max()
    copy_bit = float((last_zero * (residue == 0)).sum() + (last_one * (residue == 1)).sum())
    return {
        "position_prior": float(by_residue.max()),
        "majority_symbol": float((pk * (residue == majority)).sum()),
        "first_symbol": copy_bit,  # the first bit has the last bit's joint law with K
        "last_symbol": copy_bit,
        "count_tie": float(with_tie + without_tie),
    }


def walk_distribution(table: np.ndarray, steps: np.ndarray, weights: np.ndarray, start: int, length: int) -> list:
    """Laws of the running product of `length` iid group elements drawn from `steps` with `weights`, from `start`:
    [P_0, P_1, ..., P_length], each (order,), where P_t[g] = P(x_1 ... x_t = g) and `table[a, b]` is "a then b"."""
    order = table.shape[0]
    law = np.zeros(order)
    law[start] = 1.0
    out = [law]
    moves = table[:, steps]  # (order, len(steps)): where each element goes under each step
    for _ in range(length):
        nxt = np.zeros(order)
        np.add.at(nxt, moves.reshape(-1), (law[:, None] * weights[None, :]).reshape(-1))
        law = nxt
        out.append(law)
    return out
