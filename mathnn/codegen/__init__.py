"""Code generation: proven rules → numpy kernels in ``mathnn/kernels`` (``python -m mathnn.codegen``)."""

from .generate import HEADER, KERNELS_DIR, drift, expected_files, render_module, write

__all__ = ["HEADER", "KERNELS_DIR", "drift", "expected_files", "render_module", "write"]
