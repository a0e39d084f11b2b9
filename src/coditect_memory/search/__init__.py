"""Search: the query language, the keyword index (Tantivy), semantic vectors (MiniLM),
hybrid ranking, filters, facets and snippets. `actions.search` is what the doors call;
`service.search()` is the engine behind it. What search reads and writes in the store goes
through the Store interface (store/protocol/search.py); a `cache.SearchCache` the caller
owns keeps indexes and models open between searches.
"""

import os

# Query-time NumPy work is small matrices: one BLAS thread is faster, and several threads
# spinning on a busy 2-core laptop made query embedding 10x slower (measured; see
# benchmarks/RESULTS.md). Set before NumPy is first imported; the user's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
