"""The built-in `lang_ident_model_1`'s answers: a language code from ES's 109 classes.

Elasticsearch runs a small neural network (CLD3's) over character n-grams and scripts. The
simulator needs plausible, stable answers rather than accuracy: the script of the text decides
for scripts one language owns (Hangul is Korean), a few telltale letters split shared scripts
(Cyrillic, Arabic), and common short words (with a few letters as tie-breakers) pick among
Latin-script languages. The rest of the probability mass is spread over the other classes
from a hash of the text, so the same text always gives the same answer.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

#: ES's LangIdentNeuralNetwork class order (the model's output index -> language code).
LANGUAGES = (
    "eo", "co", "eu", "ta", "de", "mt", "ps", "te", "su", "uz", "zh-Latn", "ne",
    "nl", "sw", "sq", "hmn", "ja", "no", "mn", "so", "ko", "kk", "sl", "ig",
    "mr", "th", "zu", "ml", "hr", "bs", "lo", "sd", "cy", "hy", "uk", "pt",
    "lv", "iw", "cs", "vi", "jv", "be", "km", "mk", "tr", "fy", "am", "zh",
    "da", "sv", "fi", "ht", "af", "la", "id", "fil", "sm", "ca", "el", "ka",
    "sr", "it", "sk", "ru", "ru-Latn", "bg", "ny", "fa", "haw", "gl", "et",
    "ms", "gd", "bg-Latn", "ha", "is", "ur", "mi", "hi", "bn", "hi-Latn", "fr",
    "yi", "hu", "xh", "my", "tg", "ro", "ar", "lb", "el-Latn", "st", "ceb",
    "kn", "az", "si", "ky", "mg", "en", "gu", "es", "pl", "ja-Latn", "ga", "lt",
    "sn", "yo", "pa", "ku",
)

#: (first code point, last code point, language) for scripts that name the language.
_SCRIPTS = (
    (0xAC00, 0xD7AF, "ko"), (0x1100, 0x11FF, "ko"), (0x3040, 0x30FF, "ja"), (0x4E00, 0x9FFF, "zh"),
    (0x0E00, 0x0E7F, "th"), (0x0E80, 0x0EFF, "lo"), (0x1780, 0x17FF, "km"), (0x1000, 0x109F, "my"),
    (0x10A0, 0x10FF, "ka"), (0x0530, 0x058F, "hy"), (0x0590, 0x05FF, "iw"), (0x0600, 0x06FF, "ar"),
    (0x0370, 0x03FF, "el"), (0x0900, 0x097F, "hi"), (0x0980, 0x09FF, "bn"), (0x0A00, 0x0A7F, "pa"),
    (0x0A80, 0x0AFF, "gu"), (0x0B80, 0x0BFF, "ta"), (0x0C00, 0x0C7F, "te"), (0x0C80, 0x0CFF, "kn"),
    (0x0D00, 0x0D7F, "ml"), (0x0D80, 0x0DFF, "si"), (0x1200, 0x137F, "am"), (0x0400, 0x04FF, "ru"),
)
#: Letters that move a shared script's text to another language of that script.
_TELLTALES = {
    "ru": (("uk", "іїєґ"), ("be", "ў"), ("sr", "ђћџј"), ("mk", "ѓќѕ"), ("kk", "әғқңұһі"), ("mn", "өү")),
    "ar": (("ur", "ٹڈڑےں"), ("fa", "پچژگ")),
    "hi": (("mr", "ळ"),),
    "iw": (("yi", "ײװױ"),),
}
#: Common short words per Latin-script language.
_STOP_WORDS = {
    "en": "the and of to is in that it was for with you are this have not be on",
    "es": "el la de que y en los se del las por un una es con para no",
    "fr": "le la les de des et est un une du que pour dans pas qui sur au",
    "de": "der die das und ist nicht ein eine zu den mit von sich auf dem ich",
    "it": "il di che è e la un una per non del della sono con gli le",
    "pt": "o a de que e do da em um uma para não os com é se",
    "nl": "de het een en van is niet dat op te zijn met voor ik",
    "sv": "och att det som en är på av för med inte jag till har",
    "da": "og at det er en til på af for med ikke jeg som har",
    "no": "og det er en til på av for med ikke jeg som har ikkje",
    "fi": "ja on ei se että oli kun mutta hän ovat tämä myös",
    "pl": "i w nie na się że z do jest to jak ale co",
    "cs": "a je v se na že to s z do jak ale není",
    "tr": "ve bir bu da de için ile ne çok değil ama gibi",
    "id": "yang dan di ini itu dengan untuk tidak dari ke ada saya",
    "ro": "și de în la nu este că cu o un pe din sunt",
    "hu": "a az és hogy nem egy is van meg de ez",
    "ca": "el la de i que és en els per amb no una les",
    "vi": "và của có là không được trong những cho một các người",
    "la": "et in est non ad cum quod sed qui ut",
    "sw": "na ya wa kwa ni za katika la hii kuwa",
}
_STOPS = {lang: frozenset(words.split()) for lang, words in _STOP_WORDS.items()}
#: Letters only some Latin-script languages use (a hint when no common word decides).
_LATIN_LETTERS = (
    ("de", "ß"), ("es", "ñ¿¡"), ("pt", "ãõ"), ("sv", "å"), ("da", "æø"), ("pl", "łśżź"),
    ("cs", "řě"), ("tr", "ğşı"), ("hu", "őű"), ("ro", "ățș"), ("vi", "đơư"), ("fr", "œ"),
)
_WORDS = re.compile(r"[^\W\d_]+")


def identify(text: str) -> tuple[str, float]:
    """The language code and how sure the answer is (0..1)."""
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        code = ord(char)
        for first, last, lang in _SCRIPTS:
            if first <= code <= last:
                counts[lang] = counts.get(lang, 0) + 1
                break
    if counts and sum(counts.values()) * 2 >= letters:
        script = max(counts, key=lambda lang: (counts[lang], lang))
        if script == "zh" and counts.get("ja"):
            script = "ja"  # kanji with kana is Japanese
        for lang, telltales in _TELLTALES.get(script, ()):
            if any(c in text for c in telltales):
                return lang, 0.9
        return script, 0.97
    return _latin(text.lower())


def _latin(text: str) -> tuple[str, float]:
    words = _WORDS.findall(text)
    scores = {lang: sum(w in stops for w in words) for lang, stops in _STOPS.items()}
    for lang, letters in _LATIN_LETTERS:
        if any(c in text for c in letters):
            scores[lang] += 2
    best = max(sorted(scores), key=lambda lang: scores[lang])
    if scores[best] == 0:
        return "en", 0.5
    share = scores[best] / max(len(words), 1)
    return best, min(0.99, 0.6 + 0.8 * share)


def lang_ident_result(
    settings: dict[str, Any], text: str, rng_for: Callable[[str], np.random.Generator]
) -> dict[str, Any]:
    """One text's classification answer (`rng_for(text)` spreads the rest of the
    probability mass)."""
    lang, sureness = identify(text)
    top = round(sureness, 6)
    others = [code for code in LANGUAGES if code != lang]
    weights = rng_for(text).random(len(others)) ** 4 + 1e-3
    rest = sorted(zip(others, weights / weights.sum() * (1 - top)), key=lambda lp: (-lp[1], lp[0]))
    field = settings.get("results_field") or "predicted_value"
    result: dict[str, Any] = {field: lang}
    wanted = int(settings.get("num_top_classes") or 0)
    if wanted != 0:
        ranked = [(lang, top), *rest]
        chosen = ranked if wanted < 0 else ranked[:wanted]
        result[settings.get("top_classes_results_field") or "top_classes"] = [
            {"class_name": name, "class_probability": round(float(p), 6), "class_score": round(float(p), 6)}
            for name, p in chosen
        ]
    result["prediction_probability"] = top
    result["prediction_score"] = top
    return result
