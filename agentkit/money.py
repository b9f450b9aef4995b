"""Money as shoppers read it: rupees with Indian digit grouping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_paisa(value: Decimal | int | float | str) -> Decimal:
    """Rupees rounded to the paisa, half-up: the one rounding rule for money (999.795 -> 999.80)."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def percent_of(amount: Decimal | int | float | str, percent: Decimal | int | float | str) -> Decimal:
    """``percent`` % of ``amount`` rupees, rounded half-up to the paisa: 20 % of 4999 is 999.80."""
    return to_paisa(Decimal(str(amount)) * Decimal(str(percent)) / 100)


def format_inr(value: Decimal | int | float | str) -> str:
    """₹4,999 · ₹1,24,990 · ₹4,718.50 · -₹300 (lakh and crore grouping; paise only when there are any)."""
    amount = Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    whole, paise = divmod(abs(amount), 1)
    digits = str(int(whole))
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        digits = ",".join(([head] if head else []) + groups + [tail])
    text = "₹" + digits + (f".{int(paise * 100):02d}" if paise else "")
    return "-" + text if amount < 0 else text
