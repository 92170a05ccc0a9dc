"""The pytest layer, the only part of the package that imports pytest: the hooks (hooks.py, the entry point),
the option table, the items, and the objects that carry one run."""
