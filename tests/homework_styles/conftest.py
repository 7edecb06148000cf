"""The files here are homework for ``mathnn check`` to judge (and the declarations of their bugs), not tests."""

collect_ignore_glob = ["*.py"]
