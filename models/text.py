"""How product names are compared: lower case without accents, so "Hidratação" and "hidratacao"
are one word to a hurried seller and to the catalogue's families alike."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents (combining marks dropped; other characters kept)."""
    decomposed = unicodedata.normalize("NFKD", str(text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
