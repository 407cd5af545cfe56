"""Word-level differences between two texts, as escaped HTML with `<del>` and `<ins>`.

Texts are compared paragraph by paragraph first (a release body has dozens of paragraphs and
an edit usually touches one or two), then word by word inside the paragraphs that changed, so
the diff of a long body stays fast and reads like an editor's marks. Every piece of text is
escaped before it is wrapped: a title holding `<script>` shows as text.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from markupsafe import Markup, escape

_TOKENS = re.compile(r"\s+|[^\s]+")


def _words(text: str) -> list[str]:
    """Words and the spaces between them, so joining the tokens gives the text back.

    >>> _words("a  b\\nc")
    ['a', '  ', 'b', '\\n', 'c']
    """
    return _TOKENS.findall(text)


def _mark(tag: str, tokens: list[str]) -> str:
    text = "".join(tokens)
    return f"<{tag}>{escape(text)}</{tag}>" if text else ""


def word_diff(old: str | None, new: str | None) -> Markup:
    """`new` with the words `old` had and `new` lacks in `<del>`, new words in `<ins>`.

    >>> str(word_diff("Syria: <b>five</b> killed", "Syria: six killed"))
    'Syria: <del>&lt;b&gt;five&lt;/b&gt;</del><ins>six</ins> killed'
    >>> str(word_diff(None, "new")), str(word_diff("same", "same"))
    ('<ins>new</ins>', 'same')
    """
    before, after = _words(old or ""), _words(new or "")
    pieces: list[str] = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(str(escape("".join(after[b1:b2]))))
            continue
        if op in ("delete", "replace"):
            pieces.append(_mark("del", before[a1:a2]))
        if op in ("insert", "replace"):
            pieces.append(_mark("ins", after[b1:b2]))
    return Markup("".join(pieces))  # every piece was escaped above


def paragraphs(text: str | None) -> list[str]:
    """The paragraphs of a text (blank lines separate them).

    >>> paragraphs("One.\\n\\n Two.\\n\\n\\n"), paragraphs(None)
    (['One.', 'Two.'], [])
    """
    if not text:
        return []
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def text_diff(old: str | None, new: str | None) -> list[Markup]:
    """The paragraphs of `new` (and those `old` lost), each as a word diff.

    Unchanged paragraphs come back escaped and unmarked; a paragraph only `old` has is one
    `<del>`, one only `new` has one `<ins>`; paragraphs replaced one for one are diffed word
    by word.

    >>> [str(p) for p in text_diff("A b.\\n\\nGone.", "A c.\\n\\nNew.\\n\\nMore.")]
    ['A <del>b.</del><ins>c.</ins>', '<del>Gone.</del><ins>New.</ins>', '<ins>More.</ins>']
    """
    before, after = paragraphs(old), paragraphs(new)
    out: list[Markup] = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(Markup(escape(text)) for text in after[b1:b2])
            continue
        olds, news = before[a1:a2], after[b1:b2]
        paired = min(len(olds), len(news)) if op == "replace" else 0
        out.extend(word_diff(olds[i], news[i]) for i in range(paired))
        out.extend(word_diff(text, None) for text in olds[paired:])
        out.extend(word_diff(None, text) for text in news[paired:])
    return out
