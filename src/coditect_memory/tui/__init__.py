"""`memory tui`: an interactive search in the terminal (Textual), what atuin's search is for
shell history. It calls the same search action as `memory search` (actions/search.py)."""
