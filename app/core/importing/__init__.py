"""Importers that read shop files (history, products, stock) into records."""
