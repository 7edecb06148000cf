"""Numpy kernels generated from the proven rules (one module per rule); numpy only, never SymPy.

Do not edit the modules here: change the rule in ``mathnn/rules`` and run ``python -m mathnn.codegen``.
"""
