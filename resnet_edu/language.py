"""The library's one English / Korean picker.

Every figure, diagram and sentence the library builds for the app comes in the reader's
language: the caller passes ``lang`` ("en" or "ko") and the text is written in both
languages side by side where it is used, so a translation is never far from its English.
This file holds the one function that chooses between the two; it has no other imports, so
any module can use it.
"""

from __future__ import annotations

def pick(lang: str, en: str, ko: str) -> str:
    """The Korean text when ``lang`` is "ko", else the English one (the default language).

    Args:
        lang: the reader's language, "en" or "ko"; anything else reads English.
        en: the English text.
        ko: the same text in Korean.
    """
    return ko if lang == "ko" else en


__all__ = ["pick"]
