"""Search: the query language, the keyword index (Tantivy), semantic vectors (MiniLM),
hybrid ranking, filters, facets and snippets. `service.search()` is the entry point the
CLI and the API share; nothing here builds SQL from user text (storage.py is parameterised).
"""

import os

# Query-time NumPy work is small matrices: one BLAS thread is faster, and several threads
# spinning on a busy 2-core laptop made query embedding 10x slower (measured; see
# benchmarks/RESULTS.md). Set before NumPy is first imported; the user's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
