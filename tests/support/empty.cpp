// Keeps the support library non-empty before any helpers exist.
