"""float16 and bfloat16 inputs on torch and JAX: float32 inside, the input's dtype out.

- Every registered loss returns the input's half dtype, and no value is computed in
  half precision: on torch a dispatch mode records every aten op of the forward and
  backward pass, on JAX the jaxpr of the loss and of its gradient is walked, and every
  op whose result is a half-precision float must be a cast, a view or autograd's seed.
- Every registered loss is within 1e-2 relative of the float64 loss of the same
  (half-rounded) inputs, for every reduction.
- cross-entropy, BCE-with-logits, Dice and focal losses on well-scaled random inputs
  are within 1e-2 relative of the float64 result of the unrounded inputs.
- A float16 mean whose sum of element losses exceeds the float16 range (65504) stays
  finite and right: the sum is accumulated in float32.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import polyloss
from backends import example_numpy
from polyloss import REGISTRY

LOSSES = sorted(REGISTRY)
HALF = ("float16", "bfloat16")
LIBS = [
    pytest.param("torch", marks=pytest.mark.skipif(not __import__("importlib").util.find_spec("torch"), reason="no torch")),
    pytest.param("jax", marks=pytest.mark.skipif(not __import__("importlib").util.find_spec("jax"), reason="no jax")),
]


# --------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------


def _as(lib: str, a: np.ndarray, dtype: str | None):
    """NumPy data as a torch/JAX array; floats in `dtype`, integers as they are."""
    if lib == "torch":
        import torch

        t = torch.asarray(a.astype(np.float32) if a.dtype.kind == "f" else a)
        return t.to(getattr(torch, dtype)) if a.dtype.kind == "f" and dtype else t
    import jax.numpy as jnp

    return jnp.asarray(a, dtype=getattr(jnp, dtype)) if a.dtype.kind == "f" and dtype else jnp.asarray(a)


def _to64(lib: str, a) -> np.ndarray:
    if lib == "torch":
        a = a.detach()
        return a.double().numpy() if a.dtype.is_floating_point else a.numpy()
    import jax.numpy as jnp

    return np.asarray(a.astype(jnp.float32) if jnp.issubdtype(a.dtype, jnp.floating) else a).astype(
        np.float64 if jnp.issubdtype(a.dtype, jnp.floating) else a.dtype
    )


def _dtype_name(x) -> str:
    return str(x.dtype).replace("torch.", "")


def _differentiated(arrays) -> int:
    """The position of the array the gradient is taken of: the first floating one."""
    return next((i for i, a in enumerate(arrays) if _is_floating(a)), 0)


def _with(arrays, k, a):
    """`arrays` with `a` in position `k`."""
    return [*arrays[:k], a, *arrays[k + 1:]]


# --------------------------------------------------------------------------
# no arithmetic in half precision
# --------------------------------------------------------------------------

# ops whose half-precision result is not computed arithmetic: casts, views, copies,
# gathers (exact copies of chosen entries), and autograd's seed gradient (ones_like of
# the half-precision result)
TORCH_ALLOWED = {
    "_to_copy", "to", "copy_", "clone", "detach", "alias", "view", "_unsafe_view", "reshape",
    "_reshape_alias", "unsqueeze", "squeeze", "expand", "permute", "t", "transpose", "select",
    "slice", "ones_like", "lift_fresh", "empty_like", "contiguous", "index_select", "gather",
}
JAX_ALLOWED = {
    "convert_element_type", "reshape", "broadcast_in_dim", "squeeze", "expand_dims", "transpose",
    "slice", "copy", "copy_p", "device_put", "gather", "dynamic_slice",
}


def _torch_half_ops(fn, arrays) -> list[str]:
    """Half-precision results of the forward and backward pass of ``fn(*arrays)`` (the
    gradient of the first floating array)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    half = {torch.float16, torch.bfloat16}
    found: list[str] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            name = func.overloadpacket.__name__
            if any(isinstance(o, torch.Tensor) and o.dtype in half for o in outs) and name not in TORCH_ALLOWED:
                found.append(f"{func} -> {[o.dtype for o in outs if isinstance(o, torch.Tensor)]}")
            return out

    k = _differentiated(arrays)
    arrays = _with(arrays, k, arrays[k].clone().requires_grad_(arrays[k].dtype.is_floating_point))
    with Record():
        out = fn(*arrays)
        if out.requires_grad:
            out.backward(torch.ones_like(out))  # the seed: ones in the result's dtype
    return found


def _is_floating(a) -> bool:
    """Whether a NumPy, torch or JAX array holds floats (bfloat16 included)."""
    if hasattr(a.dtype, "is_floating_point"):  # torch
        return a.dtype.is_floating_point
    if isinstance(a, np.ndarray):
        return a.dtype.kind == "f"
    import jax.numpy as jnp

    return bool(jnp.issubdtype(a.dtype, jnp.floating))


def _jax_half_ops(fn, arrays) -> list[str]:
    import jax
    import jax.numpy as jnp

    half = {jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16)}
    found: list[str] = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            subs = [v for v in eqn.params.values() if hasattr(v, "eqns") or hasattr(v, "jaxpr")]
            subs += [j for v in eqn.params.values() if isinstance(v, (tuple, list)) for j in v
                     if hasattr(j, "eqns") or hasattr(j, "jaxpr")]
            if subs:  # a container (pjit, custom_jvp_call, ...): judge what it holds
                for sub in subs:
                    walk(sub.jaxpr if hasattr(sub, "jaxpr") else sub)
                continue
            if any(getattr(v.aval, "dtype", None) in half for v in eqn.outvars) and eqn.primitive.name not in JAX_ALLOWED:
                found.append(f"{eqn.primitive.name}: {[str(v.aval) for v in eqn.outvars]}")

    walk(jax.make_jaxpr(fn)(*arrays).jaxpr)
    k = _differentiated(arrays)
    if _is_floating(arrays[k]):
        out, vjp = jax.vjp(lambda a: fn(*_with(arrays, k, a)), arrays[k])
        walk(jax.make_jaxpr(vjp)(jnp.ones_like(out)).jaxpr)  # the backward pass, seeded in the result's dtype
    return found


@pytest.mark.parametrize("half", HALF)
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("name", LOSSES)
def test_registry_loss_returns_half_and_computes_in_float32(name, lib, half):
    info = REGISTRY[name]
    arrays, options = example_numpy(info), dict(info.example.options)
    halves = [_as(lib, a, half) for a in arrays]
    exact = [_to64(lib, a) for a in halves]  # the half-rounded inputs, in float64
    for reduction in info.reductions:
        fn = functools.partial(info.function, **options, reduction=reduction)
        out = fn(*halves)
        assert _dtype_name(out) == half, f"{name} returned {out.dtype} for {half} input"
        expected = np.asarray(info.function(*exact, **options, reduction=reduction))
        np.testing.assert_allclose(
            _to64(lib, out), expected, rtol=1e-2, atol=1e-3, err_msg=f"{name} {reduction} {lib} {half}"
        )
        half_ops = (_torch_half_ops if lib == "torch" else _jax_half_ops)(fn, halves)
        assert not half_ops, f"{name} reduction={reduction} computes in {half}: {half_ops}"


# --------------------------------------------------------------------------
# the four named losses on well-scaled inputs, against float64 of the unrounded data
# --------------------------------------------------------------------------


def _named_cases():
    rng = np.random.default_rng(11)
    logits = rng.normal(0.0, 2.0, (256, 10))
    labels = rng.integers(0, 10, 256)
    seg = rng.normal(0.0, 2.0, (8, 4, 16, 16))
    seg_labels = rng.integers(0, 4, (8, 16, 16))
    bin_logits = rng.normal(0.0, 2.0, (64, 20))
    bin_targets = (rng.uniform(size=(64, 20)) < 0.3).astype(np.float64)
    return {
        "cross_entropy": (polyloss.cross_entropy, logits, labels, {}),
        "cross_entropy-weight-smoothing": (
            polyloss.cross_entropy, logits, labels,
            {"weight": list(rng.uniform(0.5, 2.0, 10)), "label_smoothing": 0.1},
        ),
        "cross_entropy-segmentation": (polyloss.cross_entropy, seg, seg_labels, {}),
        "binary_cross_entropy_with_logits": (
            polyloss.binary_cross_entropy_with_logits, bin_logits, bin_targets, {"pos_weight": [2.0] * 20},
        ),
        "dice_loss-softmax": (polyloss.dice_loss, seg, seg_labels, {"axis": 1, "activation": "softmax"}),
        "dice_loss-sigmoid-binary": (polyloss.dice_loss, bin_logits, bin_targets, {"activation": "sigmoid"}),
        "focal_loss": (polyloss.focal_loss, logits, labels, {"gamma": 2.0, "alpha": [0.25] * 10}),
        "sigmoid_focal_loss": (polyloss.sigmoid_focal_loss, bin_logits, bin_targets, {}),
    }


NAMED = _named_cases()


@pytest.mark.parametrize("half", HALF)
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("case", sorted(NAMED))
def test_named_losses_within_1e_2_of_float64(case, lib, half):
    fn, x, t, options = NAMED[case]
    for reduction in ("mean", "sum", "none"):
        out = fn(_as(lib, x, half), _as(lib, t, half), **options, reduction=reduction)
        assert _dtype_name(out) == half
        expected = np.asarray(fn(x, t, **options, reduction=reduction))  # float64, unrounded inputs
        got = _to64(lib, out)
        if reduction == "none":  # element losses near 0 lose relative precision to the input rounding
            np.testing.assert_allclose(got, expected, rtol=1e-2, atol=1e-2 * float(np.max(np.abs(expected))))
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-2, err_msg=f"{case} {reduction} {lib} {half}")


# --------------------------------------------------------------------------
# a float16 sum beyond the float16 range
# --------------------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("name", ["mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "focal_loss"])
def test_float16_mean_of_a_sum_beyond_float16_range(name, lib):
    rng = np.random.default_rng(3)
    n = 60_000
    if name == "mse_loss":
        x, t = rng.normal(0.0, 2.0, n), np.zeros(n)  # element losses ~4, sum ~2.4e5
    elif name == "binary_cross_entropy_with_logits":
        x, t = rng.normal(0.0, 4.0, n), (rng.uniform(size=n) < 0.5).astype(np.float64)  # sum ~1e5
    else:
        x, t = rng.normal(0.0, 3.0, (n, 4)), rng.integers(0, 4, n)  # sum ~1.5e5 (focal ~7e4)
    fn = getattr(polyloss, name)
    xh = _as(lib, x, "float16")
    x64 = _to64(lib, xh)
    total = float(fn(x64, t, reduction="sum"))
    assert total > 65504, "the case must overflow a float16 sum"
    out = fn(xh, _as(lib, t, "float16"), reduction="mean")
    got = _to64(lib, out)
    assert np.isfinite(got), f"{name}: a float16 mean overflowed (its sum was accumulated in float16)"
    np.testing.assert_allclose(got, fn(x64, t, reduction="mean"), rtol=1e-3)
    # "sum" itself is beyond float16 and becomes inf when cast to the input's dtype, as in torch
    assert not np.isfinite(_to64(lib, fn(xh, _as(lib, t, "float16"), reduction="sum")))
