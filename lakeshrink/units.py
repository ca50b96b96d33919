"""Human-readable quantities for reports and the CLI."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; whole bytes below 1 KiB (``'512 B'``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def money(v: float, currency: str) -> str:
    """An amount in plain decimals, never an exponent: cents from 0.01 up (``'1,234.50 USD'``), else two
    significant digits (``2.929e-06`` -> ``'0.0000029 USD'``: tiny lakes save tiny sums)."""
    if v == 0 or abs(v) >= 0.01:
        return f"{v:,.2f} {currency}"
    digits = 1 - int(f"{abs(v):.1e}".split("e")[1])  # decimals that keep two significant digits
    return f"{v:.{digits}f} {currency}"
