"""Small words the pages and figures show: clock times, durations, switch labels, run statuses.

Each turns one value into the few words a student reads next to a curve or in a table, in
English or Korean; :func:`markdown_safe` keeps a user's run name from becoming Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from resnet_edu.language import pick


def clock_label(iso: str | None) -> str:
    """An ISO time stamp as the server's local "11-28 09:15" (how pages name runs); "" when unknown."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def seconds_label(seconds: float | None, lang: str = "en") -> str:
    """A duration for people: "45 s", "3 min 05 s", "1 h 02 min" (in Korean with its own units);
    "–" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return pick(lang, f"{seconds} s", f"{seconds}초")
    if seconds < 3600:
        return pick(lang, f"{seconds // 60} min {seconds % 60:02d} s", f"{seconds // 60}분 {seconds % 60:02d}초")
    return pick(lang, f"{seconds // 3600} h {seconds % 3600 // 60:02d} min", f"{seconds // 3600}시간 {seconds % 3600 // 60:02d}분")


def toggle_label(detail: dict[str, Any], stages: Sequence[int] | None = None, lang: str = "en") -> str:
    """"shortcuts off" / "stage 2 on" / "stages 1, 3 off" for a shortcuts_toggled event's detail."""
    enabled = bool(detail.get("enabled"))
    chosen = detail.get("stages") if stages is None else stages
    if lang == "ko":
        state = "켬" if enabled else "끔"
        if not chosen:
            return f"숏컷 {state}"
        return f"{', '.join(str(s) for s in chosen)}단계 숏컷 {state}"
    state = "on" if enabled else "off"
    if not chosen:
        return f"shortcuts {state}"
    word = "stage" if len(chosen) == 1 else "stages"
    return f"{word} {', '.join(str(s) for s in chosen)} {state}"


STATUS_WORDS = {  # run status -> (English, Korean), as shown in the app
    "queued": ("queued", "대기 중"), "running": ("training", "학습 중"), "finished": ("finished", "완료"),
    "stopped": ("stopped", "중지됨"), "diverged": ("diverged", "발산"), "failed": ("failed", "실패"),
    "interrupted": ("interrupted", "중단됨"),
}


def status_word(status: str, lang: str = "en") -> str:
    en, ko = STATUS_WORDS.get(status, (status, status))
    return pick(lang, en, ko)


_MARKDOWN_SPECIALS = set("\\`*_{}[]()#!|<>~$:&")  # "-", "+", "." only matter at a line start


def markdown_safe(text: object) -> str:
    """Text (e.g. a run name) safe inside Markdown: no links, images, HTML, :directives: or $math$."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in " ".join(str(text).split()))
