"""Numbers as people read them: percentages, counts and lengths in English or German."""

from __future__ import annotations


def _separators(language: str) -> tuple[str, str]:
    """Decimal and thousands separator of ``language``."""
    return (",", ".") if language == "de" else (".", ",")


def format_number(value: float, decimals: int, language: str) -> str:
    """``value`` with ``decimals`` places and the language's separators ("7,151.5" / "7.151,5")."""
    decimal, thousands = _separators(language)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def format_count(value: float, language: str) -> str:
    """Format a whole number with thousands separators."""
    return format_number(round(value), 0, language)


def format_percent(share: float | None, language: str, decimals: int = 1) -> str:
    """Format a share (0..1) as a percentage ("25.9 %"); a dash when unknown."""
    if share is None:
        return "–"
    return f"{format_number(100.0 * share, decimals, language)} %"


def format_metres(value: float | None, language: str) -> str:
    """Format a distance in whole metres ("400 m", "1,200 m"); a dash when unknown."""
    if value is None:
        return "–"
    return f"{format_count(value, language)} m"


def format_hectares(value: float, language: str) -> str:
    """Format an area in hectares, without needless decimals ("2 ha", "0.5 ha")."""
    decimals = 0 if float(value).is_integer() else 1 if round(value, 1) == value else 2
    return f"{format_number(value, decimals, language)} ha"
