"""LGPD: customer ids are pseudonymised the moment they enter vitrine, and never stored in the clear.

A pseudonym is ``anon-`` + the first 32 hex digits of SHA-256(key, NUL, id), with a secret key kept
outside the data (``VITRINE_PSEUDONYM_KEY``, or ``pseudonym.key`` created under VITRINE_HOME with
owner-only permissions). The same customer always gets the same pseudonym, so baskets and
histories still join, while nobody holding the warehouse alone can go back to the id. The Python
and the SQL form give the same value (the ingest of files uses the SQL form, the service's live
sales the Python one); a value that already is a pseudonym passes through unchanged, so a posted
sale exported back into the warehouse is not hashed twice.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from warehouse.settings import Settings

PREFIX = "anon-"
_PSEUDONYM = re.compile(r"anon-[0-9a-f]{32}")


def pseudonym_key(settings: Settings) -> str:
    """The secret key: the setting when given, else the home's key file (created on first use)."""
    if settings.pseudonym_key:
        return settings.pseudonym_key
    path = settings.pseudonym_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def pseudonymise(customer_id: str | None, key: str) -> str | None:
    """The customer's pseudonym; None or blank stays None (an anonymous sale)."""
    if customer_id is None or not str(customer_id).strip():
        return None
    value = str(customer_id).strip()
    if _PSEUDONYM.fullmatch(value):
        return value
    return PREFIX + hashlib.sha256(key.encode() + b"\0" + value.encode()).hexdigest()[:32]


def pseudonymise_sql(expr: str, key_parameter: str = "pseudonym_key") -> str:
    """The same function in ClickHouse SQL over the String expression ``expr`` (key bound as a parameter)."""
    value = f"trimBoth({expr})"
    already = f"(length({value}) = 37 AND match({value}, '^anon-[0-9a-f]+$'))"
    hashed = f"concat('{PREFIX}', substring(lower(hex(SHA256(concat({{{key_parameter}:String}}, '\\0', {value})))), 1, 32))"
    return f"if(({expr}) IS NULL OR {value} = '', NULL, if({already}, {value}, {hashed}))"
