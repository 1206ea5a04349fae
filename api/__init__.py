"""The public side of patentpool: the read-only FastAPI app over the mirror and the chain.

`api.main.create_app` builds it; `patentpool serve` runs it under uvicorn. It reads the mirror
through `indexer.schema` and the chain through `registry`; neither imports it. It holds no key
and has no write route.

Importing the package imports no FastAPI: the command's lists use `api.db` alone, and the app
(about a second of imports) loads only where it is served.
"""
