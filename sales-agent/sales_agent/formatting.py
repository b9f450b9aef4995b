"""A reply in each messaging channel's own formatting.

Replies are written in Markdown (``**bold**``, ``*italic*``, `` `code` ``, ``[text](url)``), which neither
WhatsApp nor Telegram shows as such:

- WhatsApp formats ``*bold*``, ``_italic_``, ``~strike~`` and ```` ```mono``` ````; links are sent as bare URLs.
- Telegram gets HTML (``parse_mode: "HTML"``): ``<b>``, ``<i>``, ``<code>``, ``<a href>``; every other
  ``&``, ``<`` and ``>`` is escaped, so a reply can never break the message or inject markup.
"""

from __future__ import annotations

import html
import re

BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def whatsapp(text: str) -> str:
    text = LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = ITALIC.sub(r"_\1_", text)  # before bold, whose result is *single* stars
    text = BOLD.sub(r"*\1*", text)
    return CODE.sub(r"```\1```", text)


def telegram_html(text: str) -> str:
    """Markdown -> the HTML subset Telegram's parse_mode HTML accepts, everything else escaped."""
    out = html.escape(text)  # quotes too, so an escaped URL is safe inside href="..."
    out = LINK.sub(r'<a href="\2">\1</a>', out)
    out = CODE.sub(r"<code>\1</code>", out)
    out = BOLD.sub(r"<b>\1</b>", out)
    return ITALIC.sub(r"<i>\1</i>", out)
