"""What a private key file may ask of the machine that opens it, checked before any work is done.

A key file names its own scrypt cost; a hostile one could ask for 16 GiB of memory
or for next to no work at all. The bounds: at least 16 MiB of memory per guess
(n = 2^14, r = 8), at most 1 GiB (128 x n x r bytes: 2^20 x 8, a few seconds) and 4
passes; n a power of two.
"""

from __future__ import annotations

from storage.errors import TranscriptUnreadable

SCRYPT_N_RANGE, SCRYPT_R_RANGE, SCRYPT_P_RANGE = (2**14, 2**20), (8, 16), (1, 4)
SCRYPT_MAX_MEMORY = 2**30


def scrypt_cost(kdf: object) -> tuple[int, int, int]:
    """The scrypt parameters of a key file, refused unless within the bounds above (before any work)."""
    if not isinstance(kdf, dict) or kdf.get("name", "scrypt") != "scrypt":
        raise ValueError("not scrypt")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (type(n) is int and type(r) is int and type(p) is int):  # not a bool, a float or a string
        raise ValueError("scrypt parameters must be whole numbers")
    bounds = ((n, SCRYPT_N_RANGE), (r, SCRYPT_R_RANGE), (p, SCRYPT_P_RANGE))
    outside = any(not low <= value <= high for value, (low, high) in bounds)
    if outside or n & (n - 1) or 128 * n * r > SCRYPT_MAX_MEMORY:
        raise TranscriptUnreadable(
            "this key file asks for a scrypt cost outside what Accueil accepts (n a power of two from 2^14 to 2^20, "
            "r from 8 to 16, p from 1 to 4, at most 1 GiB): it was not written by `accueil keys init`"
        )
    return n, r, p
