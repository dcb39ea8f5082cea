"""Many models of one architecture as one: the weights of M models stacked along a leading dim, trained in lockstep.

    fused = FusedModel([build(...seed 0...), build(...seed 1...), ...])   # same architecture and shapes
    logits = fused(inputs)            # int64 (M, B, T) -> (M, B, T, V): model m reads inputs[m] only
    fused.member_state_dict(m)        # model m's weights, as its own SequenceModel's state_dict

Tiny models leave a GPU idle: each step is a few hundred small kernel launches. Run M of them as one and every launch
does M times the work. Nothing of the models is written again here: the single model's own code runs
(`torch.func.functional_call`) under `torch.func.vmap` over the stacked weights for everything between two sequence
ops (a segment: residuals, norms, MLPs, projections; batched matmuls), while each sequence op, which vmap cannot see
into (fla's and this package's ops are autograd Functions), runs once for all M models with the models folded into its
batch (sequences are independent; `fold = "heads"` is there for an op that wants it). So model m computes exactly
what its own SequenceModel computes (tests/architectures/test_fused.py compares them), and the M models never mix:
their weights, gradients and per-model buffers (the eigenvalue range: models may differ in `neg_eigval`) stay apart.

Models of different tasks fuse too: they may differ in `vocab_size`. The embedding and head are then stacked padded
with zero rows to the largest vocabulary, and each model's logits for tokens beyond its own vocabulary are -inf, so
those rows get no gradient, stay zero under AdamW, and no model can predict a token it does not have.

The LSTM's and the Stack-RNN's ops take the models as they are (`fold = "models"`), their per-model weights among
their arguments. A layer without a fused form (no `fold`) makes its model unfusable (`fusable`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict

import torch
from torch import nn
from torch.func import functional_call, vmap

from expressivity.architectures.models import SequenceModel, packable, unpackable

# Config fields models may differ in: the eigenvalue range is carried by a per-model buffer (beta_scale, eig_scale),
# the vocabulary by padding the parameters that have one row per token (VOCAB_PARAMS).
PER_MODEL_FIELDS = ("neg_eigval", "vocab_size")
VOCAB_PARAMS = ("embed.weight", "head.weight")
# Compiled segments (compile_stages) a process may hold: one a layer or fewer, each once per padded length.
RECOMPILE_LIMIT = 1024


def fusable(model: SequenceModel) -> str:
    """Why `model` cannot be fused, or "" when it can."""
    missing = sorted({type(b.mixer).__name__ for b in model.blocks if not hasattr(b.mixer, "fold")})
    return f"its layers {', '.join(missing)} have no fused form" if missing else ""


def _fold(x: torch.Tensor, how: str) -> torch.Tensor:
    """(M, B, T, H, ...) -> (B, T, M * H, ...) for "heads", (M * B, T, H, ...) for "batch"; as it is for "models"
    (an op that takes the model dim itself, with per-model weights among its arguments: the Stack-RNN's)."""
    if how == "models":
        return x
    if how == "batch":
        return x.flatten(0, 1)
    M, B, T, H = x.shape[:4]
    return x.movedim(0, 2).reshape(B, T, M * H, *x.shape[4:])


def _unfold(x: torch.Tensor, how: str, M: int) -> torch.Tensor:
    """The inverse of `_fold` for the op's output."""
    if how == "models":
        return x
    if how == "batch":
        return x.unflatten(0, (M, -1))
    B, T = x.shape[:2]
    return x.reshape(B, T, M, -1, *x.shape[3:]).movedim(2, 0)


class FusedModel(nn.Module):
    """M SequenceModels of one architecture trained as one: inputs (M, B, T) -> logits (M, B, T, V).

    `members` keep their module structure as the template the forward runs; their own parameters are not used after
    construction (the stacked copies in `weights` are what trains). Weights start as copies of the members' own, so
    each model begins exactly where its single run would."""

    def __init__(self, members: Sequence[SequenceModel]):
        super().__init__()
        if not members:
            raise ValueError("a fused model needs at least one member")
        first = {k: v for k, v in asdict(members[0].cfg).items() if k not in PER_MODEL_FIELDS}
        for m in members[1:]:
            cfg = {k: v for k, v in asdict(m.cfg).items() if k not in PER_MODEL_FIELDS}
            if cfg != first:
                diff = sorted(k for k in cfg if cfg[k] != first[k])
                raise ValueError(f"fused models must share their architecture; these differ: {', '.join(diff)}")
        reason = fusable(members[0])
        if reason:
            raise ValueError(f"cannot fuse these models: {reason}")
        self.M = len(members)
        self.template = members[0]
        self.flat = self.flat_grad = None  # set by flatten_
        self.compile_stages = False  # set before the first forward to compile the per-token stages
        self._stages: dict[tuple[str, str, bool], object] = {}
        self.vocab = [m.cfg.vocab_size for m in members]
        params, buffers = _stack(members, max(self.vocab))
        # ParameterDict keys may not contain "."; the stacked weights keep the members' names with "." -> "/".
        self.weights = nn.ParameterDict({k.replace(".", "/"): nn.Parameter(v) for k, v in params.items()})
        for k, v in buffers.items():
            self.register_buffer("buf/" + k.replace(".", "/"), v, persistent=False)
        self._names = list(params)
        self._segments = self._plan_segments()
        if len(set(self.vocab)) > 1:  # (M, V): 0 for a model's own tokens, -inf beyond them
            beyond = torch.arange(max(self.vocab))[None, :] >= torch.tensor(self.vocab)[:, None]
            self.register_buffer("vocab_mask", torch.zeros(beyond.shape).masked_fill(beyond, float("-inf")))
        else:
            self.vocab_mask = None

    def member_shape(self, m: int, name: str) -> torch.Size:
        """Model m's own shape of the stacked parameter `name` (its vocabulary's rows, where it has one)."""
        shape = self.weights[name.replace(".", "/")].shape[1:]
        return torch.Size((self.vocab[m], *shape[1:])) if name in VOCAB_PARAMS else shape

    def flatten_(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Put every stacked parameter into one (M, P) buffer, each parameter a strided view of its columns, and their
        gradients into another: an optimizer then updates all of a run's weights in a few kernels, not a few per
        parameter (a tiny model has dozens; on a GPU each is a launch). Values are unchanged. Call it after moving the
        model to its device (a move copies each parameter apart). Returns (weights, gradients), each (M, P); the
        gradients accumulate there in place (zero them in place, never set them to None)."""
        params = self.stacked_parameters()
        widths = [p[0].numel() for p in params]
        P = sum(widths)
        flat = torch.empty(self.M, P, dtype=params[0].dtype, device=params[0].device)
        grad = torch.zeros_like(flat)
        offset = 0
        for name, p, width in zip(self._names, params, widths, strict=True):
            strides = (P, *torch.empty(p.shape[1:], device="meta").stride())
            view = flat.as_strided(p.shape, strides, offset)
            with torch.no_grad():
                view.copy_(p)
            new = nn.Parameter(view)  # shares flat's storage
            new.grad = grad.as_strided(p.shape, strides, offset)
            self.weights[name.replace(".", "/")] = new
            offset += width
        self.flat, self.flat_grad = flat, grad
        # Autograd warns that a strided view's gradient breaks its layout contract; it accumulates in place all the
        # same, and the gradient has the parameter's own strides.
        warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")
        return flat, grad

    def decaying(self, vectors: bool = False) -> torch.Tensor:
        """(P,) bool over `flatten_`'s columns: the entries AdamW decays, those of matrices (2-D and up per run), and
        with `vectors` every entry."""
        params = self.stacked_parameters()
        return torch.cat([torch.full((p[0].numel(),), vectors or p.dim() >= 3, device=p.device) for p in params])

    # ---- the stacked state -----------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The members' parameter names (a tied weight once), in their models' parameter order."""
        return list(self._names)

    def stacked_parameters(self) -> list[nn.Parameter]:
        """The stacked parameters, each (M, ...), in `names` order (a ParameterDict's own order is its sorted keys)."""
        return [self.weights[k.replace(".", "/")] for k in self._names]

    def stacked(self) -> dict[str, torch.Tensor]:
        """Every stacked parameter and buffer by its member-model name, each (M, ...)."""
        out = {k: self.weights[k.replace(".", "/")] for k in self._names}
        for name, b in self.named_buffers():
            if name.startswith("buf/"):
                out[name[4:].replace("/", ".")] = b
        return out

    def member_state_dict(self, m: int) -> dict[str, torch.Tensor]:
        """Model m's weights as its own SequenceModel's state_dict (tied weights under both names, as there)."""
        mine = {k: trim(self.weights[k.replace(".", "/")][m], self.member_shape(m, k)).detach().clone()
                for k in self._names}  # fmt: skip
        out = {}
        for name in self.template.state_dict():
            source = name if name in mine else self._tied(name)
            out[name] = mine[source]
        return out

    def load_member(self, m: int, state: dict[str, torch.Tensor]) -> None:
        """Set model m's weights from a SequenceModel state_dict (e.g. its checkpoint)."""
        with torch.no_grad():
            for k in self._names:
                trim(self.weights[k.replace(".", "/")][m], self.member_shape(m, k)).copy_(state[k])

    def _tied(self, name: str) -> str:
        """The stacked name a tied parameter (the head tied to the embedding) is stored under."""
        target = self.template.get_parameter(name)
        for k in self._names:
            if self.template.get_parameter(k) is target:
                return k
        raise KeyError(name)

    # ---- forward ---------------------------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """inputs (M, B, T) -> logits (M, B, T, V); `pos` (M, B, T) for packed rows, as SequenceModel.forward.

        The forward alternates segments and sequence ops: segment k (one vmapped function over the models, see
        `_Segment`) finishes block k-1 and prepares block k's op inputs, and block k's op then runs once for every
        model. L layers make L + 1 segments, so a compiled step has at most L + 1 graphs, each fusing everything
        between two ops (residuals, norms, MLP, gates, projections); segments whose blocks are built alike run one
        function (`_plan_segments`), so a stack of like layers compiles its middle segment once."""
        if inputs.dim() != 3 or inputs.shape[0] != self.M:
            raise ValueError(f"inputs must be token ids of shape (M={self.M}, B, T), got {tuple(inputs.shape)}")
        if pos is not None and not packable(self.template.cfg.layers):
            raise ValueError(unpackable(self.template.cfg.layers))
        where = () if pos is None else (pos,)  # the mixers' extra input when rows are packed
        w = self.stacked()
        blocks = self.template.blocks
        x, before = inputs, ()  # before: the last op's (output, rest), for the segment that finishes its block
        for k, (shared, names) in enumerate(self._segments):
            out = self._stage(shared)({as_: w[name] for name, as_ in names.items()}, x, before, where)
            if k == len(blocks):
                logits = out
                break
            x, args, rest = out
            mixer, how = blocks[k].mixer, blocks[k].mixer.fold
            o = _unfold(self._op(mixer, f"blocks.{k}")(**{n: _fold(v, how) for n, v in args.items()}), how, self.M)
            before = (o, rest)
        return logits if self.vocab_mask is None else logits + self.vocab_mask[:, None, None, :]

    def _plan_segments(self) -> list[tuple[int, dict[str, str]]]:
        """For each segment k: the segment whose function it runs (the first one whose two blocks are built as its
        own, else k) and the stacked weights and buffers it reads, each with the name that function reads it by
        (block k-1's and k's names moved to that segment's blocks)."""
        blocks, L = self.template.blocks, len(self.template.blocks)
        names = [*self._names, *(n for n, _ in self.template.named_buffers())]
        plan = []
        for k in range(L + 1):
            alike = [j for j in range(1, k) if _built_alike(blocks[j - 1], blocks[k - 1])
                     and _built_alike(blocks[j], blocks[k])] if k < L else []  # fmt: skip
            shared = alike[0] if alike else k
            moved = {f"blocks.{k - 1}.": f"blocks.{shared - 1}.", f"blocks.{k}.": f"blocks.{shared}."}
            prefixes = _Segment.prefixes(k, L, self.template.cfg.tie_embeddings)
            mine = {}
            for n in names:
                prefix = next((p for p in prefixes if n.startswith(p)), None)
                if prefix is not None:
                    mine[n] = moved.get(prefix, prefix) + n[len(prefix) :]
            plan.append((shared, mine))
        return plan

    def _stage(self, k: int):
        """Segment k as f(weights, x, before, where), vmapped over the models, made once per model. With
        `compile_stages` set, segments that run under autograd (training steps) are compiled by torch.compile, which
        fuses their elementwise kernels (norms, residuals, gates, SwiGLU, and their backward); the sequence ops stay
        outside, as they are. Evaluation (no autograd) runs the plain segments, so its many lengths compile nothing."""
        compiled = self.compile_stages and torch.is_grad_enabled()
        key = (f"segment {k}", "segment", compiled)
        if key not in self._stages:
            target = _Segment(self.template, k)

            def one(weights, *args):
                return functional_call(target, {f"model.{n}": v for n, v in weights.items()}, args, strict=False)

            stage = vmap(one)  # every tensor of every argument has the models first
            if compiled:
                # Every segment is the same code object (vmap's wrapper) to torch.compile, so each one and each padded
                # length counts as a recompile of it: the default limit (8) would send the rest back to eager.
                dynamo = torch._dynamo.config
                dynamo.recompile_limit = max(dynamo.recompile_limit, RECOMPILE_LIMIT)
                dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, RECOMPILE_LIMIT)
                dynamo.suppress_errors = True  # a segment that fails to compile runs as it is
                stage = torch.compile(stage, dynamic=False)
            self._stages[key] = stage
        return self._stages[key]

    def _op(self, mixer: nn.Module, prefix: str):
        """The mixer's sequence op over every model at once. Compiled like the segments when the mixer says its op is
        plain PyTorch (`compile_op`: the diagonal recurrence, a chain of fp32 elementwise kernels around a few
        matmuls); an autograd Function (fla's, this package's GDN ops) is called as it is."""
        if not (self.compile_stages and torch.is_grad_enabled() and getattr(mixer, "compile_op", False)):
            return mixer.op
        key = (prefix, "op", True)
        if key not in self._stages:
            self._stages[key] = torch.compile(mixer.op, dynamic=False)  # limits and fallback as set by _stage
        return self._stages[key]

    def num_params(self) -> int:
        """Trainable parameters of one member (a tied embedding counted once)."""
        return self.template.num_params()


def _built_alike(a: nn.Module, b: nn.Module) -> bool:
    """Whether two modules are built alike, so one function computes either given its weights: the same submodules,
    of the same types and settings (their plain attributes), and parameters and buffers of the same shapes."""
    ma, mb = dict(a.named_modules()), dict(b.named_modules())
    if ma.keys() != mb.keys() or any(type(ma[n]) is not type(mb[n]) for n in ma):
        return False

    def settings(m: nn.Module) -> dict:
        return {k: v for k, v in vars(m).items() if not k.startswith("_") and k != "training"}

    for n in ma:
        x, y = settings(ma[n]), settings(mb[n])
        if x.keys() != y.keys() or any(isinstance(v, torch.Tensor) or x[k] != y[k] for k, v in x.items()):
            return False
    shapes = [[(n, t.shape, t.dtype) for n, t in m.state_dict().items()] for m in (a, b)]
    return shapes[0] == shapes[1]


def trim(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The leading `shape` block of `t` (a view): a member's own part of a padded stacked tensor."""
    return t[tuple(slice(0, n) for n in shape)]


def _stack(members: Sequence[SequenceModel], vocab: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The members' parameters (a tied one once, as named_parameters gives it) and buffers, each stacked to (M, ...);
    the vocabulary-sized ones padded with zero rows to `vocab`."""

    def pad(name: str, t: torch.Tensor) -> torch.Tensor:
        t = t.detach()
        if name not in VOCAB_PARAMS or t.shape[0] == vocab:
            return t
        return torch.cat([t, t.new_zeros(vocab - t.shape[0], *t.shape[1:])])

    names = [n for n, _ in members[0].named_parameters()]
    params = {n: torch.stack([pad(n, m.get_parameter(n)) for m in members]) for n in names}
    buffers = {n: torch.stack([m.get_buffer(n) for m in members]) for n, _ in members[0].named_buffers()}
    return params, buffers


class _Segment(nn.Module):
    """What one model computes between two sequence ops, as one function (for vmap and torch.compile): segment k of
    a model of L blocks takes block k-1's state (x and `before`: its mixer's op output and rest) and returns (x, block
    k's op inputs, its rest); segment 0 starts from the token ids (x; `before` empty), segment L returns the logits.
    Each block's steps are models.Block's own (mixer_input, after_mixer), cut at the mixer's op (op_inputs, op,
    finish)."""

    def __init__(self, model: SequenceModel, k: int):
        super().__init__()
        self.model, self.k = model, k

    @staticmethod
    def prefixes(k: int, L: int, tied: bool) -> tuple[str, ...]:
        """The names of the weights segment k of L reads start with one of these."""
        before = (f"blocks.{k - 1}.",) if k > 0 else ("embed.",)
        here = (f"blocks.{k}.",) if k < L else ("norm.", "embed." if tied else "head.")
        return before + here

    def forward(self, x: torch.Tensor, before: tuple, where: tuple) -> tuple | torch.Tensor:
        model, k = self.model, self.k
        if k == 0:
            x = model.embed(x)
        else:
            block = model.blocks[k - 1]
            x = block.after_mixer(x, block.mixer.finish(*before))
        if k == len(model.blocks):
            head = model.embed.weight if model.cfg.tie_embeddings else model.head.weight
            return model.norm(x) @ head.T
        block = model.blocks[k]
        args, rest = block.mixer.op_inputs(block.mixer_input(x), *where)
        return x, args, rest
