"""The intersphinx inventories of the polyloss docs, committed in ``docs/_inventories``.

The documentation builds offline, so intersphinx cannot download the libraries'
``objects.inv``. This module writes small inventories instead, holding exactly the
external names the docs link to:

- every peer of :data:`polyloss.REGISTRY` whose library has an entry in
  :data:`LIBRARIES` (``torch.nn.functional.cross_entropy``, ``optax.losses.ntxent``,
  ``sklearn.metrics.log_loss``, ...), read from the registry when this script runs;
- the few names the pages cite by hand (:data:`EXTRA`: ``numpy.ndarray``,
  ``jax.jit``, ``torch.compile``, ...).

Each name's address follows the URL scheme its project documents for its API pages
(one generated page per object for PyTorch, torchvision, NumPy, JAX and
scikit-learn; one page per module with ``#<name>`` anchors for optax and MONAI), as
the real ``objects.inv`` of those sites spell them; see :func:`uri`. The files are
version 2 Sphinx inventories (four header lines, then zlib-compressed
``name domain:role priority uri dispname`` lines), the format
:mod:`sphinx.ext.intersphinx` reads from a local path. Regenerate them after a loss
gets a new peer (the docs build warns about a peer missing from its library's
inventory)::

    python docs/_ext/polyloss_inventories.py
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
FOLDER = HERE.parent / "_inventories"

#: library key (the peers' ``Peer.library``) -> (project, documentation root)
LIBRARIES: dict[str, tuple[str, str]] = {
    "numpy": ("NumPy", "https://numpy.org/doc/stable/"),
    "torch": ("PyTorch", "https://docs.pytorch.org/docs/stable/"),
    "torchvision": ("torchvision", "https://docs.pytorch.org/vision/stable/"),
    "jax": ("JAX", "https://docs.jax.dev/en/latest/"),
    "optax": ("Optax", "https://optax.readthedocs.io/en/latest/"),
    "sklearn": ("scikit-learn", "https://scikit-learn.org/stable/"),
    "monai": ("MONAI", "https://docs.monai.io/en/stable/"),
}

#: names the pages cite that are no loss's peer: library -> ((name, role), ...)
EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    "numpy": (("numpy.ndarray", "class"), ("numpy.asarray", "function")),
    "torch": (
        ("torch.Tensor", "class"),
        ("torch.compile", "function"),
        ("torch.autocast", "class"),
        ("torch.nn.CrossEntropyLoss", "class"),
    ),
    "jax": (
        ("jax.Array", "class"),
        ("jax.jit", "function"),
        ("jax.grad", "function"),
        ("jax.value_and_grad", "function"),
        ("jax.vmap", "function"),
        ("jax.numpy.asarray", "function"),
    ),
    "optax": (("optax.losses.softmax_cross_entropy_with_integer_labels", "function"),),
}


def uri(library: str, name: str) -> str:
    """The address of `name` relative to its library's documentation root."""
    if library == "torch" and name == "torch.Tensor":
        return "tensors.html#torch.Tensor"
    if library == "torch" and name == "torch.autocast":
        return "amp.html#torch.autocast"
    if library in ("torch", "torchvision"):  # generated/<name>.html
        return f"generated/{name}.html#{name}"
    if library == "numpy":
        return f"reference/generated/{name}.html#{name}"
    if library == "jax":
        return f"_autosummary/{name}.html#{name}"
    if library == "sklearn":
        return f"modules/generated/{name}.html#{name}"
    if library == "optax":  # one page per module: api/losses.html#optax.losses.<name>
        return f"api/{name.split('.')[1]}.html#{name}"
    if library == "monai":  # losses.html#monai.losses.<Name>
        return f"{name.split('.')[1]}.html#{name}"
    raise KeyError(library)


def entries() -> dict[str, list[tuple[str, str]]]:
    """library -> sorted ``(name, role)``: the registry's peers and :data:`EXTRA`."""
    sys.path.insert(0, str(HERE.parent.parent / "src"))
    import polyloss

    found: dict[str, set[tuple[str, str]]] = {lib: set(EXTRA.get(lib, ())) for lib in LIBRARIES}
    for info in polyloss.REGISTRY.values():
        for peer in info.peers:
            if peer.importable and peer.library in LIBRARIES:
                last = peer.name.rsplit(".", 1)[-1]
                found[peer.library].add((peer.name, "class" if last[:1].isupper() else "function"))
    return {lib: sorted(names) for lib, names in found.items()}


def inventory(library: str, names: list[tuple[str, str]]) -> bytes:
    project, _ = LIBRARIES[library]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{name} py:{role} 1 {uri(library, name)} -\n" for name, role in names)
    return header.encode() + zlib.compress(body.encode(), 9)


def mapping() -> dict[str, tuple[str, str]]:
    """``intersphinx_mapping``: each library's web root and its local inventory."""
    return {
        lib: (root, f"_inventories/{lib}.inv")
        for lib, (_, root) in LIBRARIES.items()
        if (FOLDER / f"{lib}.inv").exists()
    }


def names() -> set[str]:
    """Every name of the committed inventories (what a page may link)."""
    out: set[str] = set()
    for path in sorted(FOLDER.glob("*.inv")):
        data = path.read_bytes()
        body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
        out.update(line.split(" ", 1)[0] for line in body.splitlines() if line)
    return out


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for library, listed in entries().items():
        (FOLDER / f"{library}.inv").write_bytes(inventory(library, listed))
        print(f"{FOLDER.name}/{library}.inv: {len(listed)} names")


if __name__ == "__main__":
    main()
