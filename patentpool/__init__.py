"""The `patentpool` command, which wires `registry` (and later `indexer`) together.

Nothing imports this package: it sits on top of the others.
"""

__all__: list[str] = []
