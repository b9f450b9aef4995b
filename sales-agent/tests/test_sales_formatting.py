"""Replies in each channel's formatting (sales_agent/formatting.py): no raw ``**…**`` reaches WhatsApp or Telegram."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sales_agent.formatting import telegram_html, whatsapp

REPLY = "Added **Alpine Puffer Jacket** (M, *black*) for ₹5,999. See [the offer](https://shop.example/o?a=1&b=2)."


def test_whatsapp_uses_single_star_bold_and_underscore_italic():
    assert whatsapp(REPLY) == (
        "Added *Alpine Puffer Jacket* (M, _black_) for ₹5,999. See the offer (https://shop.example/o?a=1&b=2)."
    )
    assert whatsapp("use code `WINTER10`") == "use code ```WINTER10```"
    assert whatsapp("2 * 3 = 6 and 5*4") == "2 * 3 = 6 and 5*4"  # a lone star is not formatting


def test_telegram_html_escapes_everything_else():
    assert telegram_html(REPLY) == (
        "Added <b>Alpine Puffer Jacket</b> (M, <i>black</i>) for ₹5,999. "
        'See <a href="https://shop.example/o?a=1&amp;b=2">the offer</a>.'
    )
    assert telegram_html("<script>x</script> & **bold**") == "&lt;script&gt;x&lt;/script&gt; &amp; <b>bold</b>"
    assert telegram_html("code `<b>`") == "code <code>&lt;b&gt;</code>"


@given(st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=80))
def test_telegram_markup_is_only_ours(text):
    stripped = telegram_html(text)
    for tag in ("<b>", "</b>", "<i>", "</i>", "<code>", "</code>"):
        stripped = stripped.replace(tag, "")
    assert "<" not in stripped and ">" not in stripped


@given(st.lists(st.text(alphabet="abc ₹,.", min_size=1, max_size=8).map(str.strip).filter(bool), max_size=4))
def test_no_markdown_bold_reaches_a_channel(words):
    text = " and ".join(f"**{w}**" for w in words)
    assert "**" not in whatsapp(text) and "**" not in telegram_html(text)
