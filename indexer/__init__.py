"""The mirror side of patentpool: contract events into SQL, and the read-only API over it.

Not built yet; see the indexer issue.
"""

__all__: list[str] = []
