"""The public side of patentpool: the read-only FastAPI app over the mirror and the chain.

`api.main.create_app` builds it; `patentpool serve` runs it under uvicorn. It reads the mirror
through `indexer.schema` and the chain through `registry`; neither imports it. It holds no key
and has no write route.
"""

from api.main import create_app

__all__ = ["create_app"]
