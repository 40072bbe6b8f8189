"""Rebuild `passages.jsonl` from the public-domain texts that four Debian packages ship, and label
each hand-written query in `queries.jsonl` with its kind (how many words it shares with its answers).

The set is committed, so neither the tests nor CI run this; it records exactly which verses and
entries were taken and how, so the set can be checked or grown. Run it from anywhere:

    apt-get download bible-kjv bible-kjv-text dict-devil dict-jargon
    for deb in *.deb; do dpkg-deb -x "$deb" extracted; done
    python build_set.py extracted

It reads the King James Bible with the package's own `bible` program (its data is compressed) and
the two dictionaries from their dictd files (gzip-compatible data plus a base64-offset index).
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIN_WORDS, MAX_WORDS = 40, 150

# id suffix -> verse range, read as `bible` reads references.
KJV = {
    "gen-1-1": "Gen 1:1-5",
    "gen-2-18": "Gen 2:18-23",
    "gen-3-1": "Gen 3:1-6",
    "gen-4-8": "Gen 4:8-12",
    "gen-7-17": "Gen 7:17-23",
    "gen-11-4": "Gen 11:4-9",
    "gen-19-23": "Gen 19:23-28",
    "gen-22-9": "Gen 22:9-13",
    "gen-25-29": "Gen 25:29-34",
    "gen-28-11": "Gen 28:11-15",
    "gen-32-24": "Gen 32:24-30",
    "gen-37-25": "Gen 37:25-28",
    "gen-41-25": "Gen 41:25-31",
    "exo-3-2": "Exo 3:2-6",
    "exo-7-19": "Exo 7:19-21",
    "exo-10-12": "Exo 10:12-15",
    "exo-14-21": "Exo 14:21-25",
    "exo-16-14": "Exo 16:14-18",
    "exo-17-3": "Exo 17:3-6",
    "exo-20-12": "Exo 20:12-17",
    "exo-32-1": "Exo 32:1-4",
    "lev-19-9": "Lev 19:9-14",
    "num-13-27": "Num 13:27-33",
    "num-21-6": "Num 21:6-9",
    "num-22-28": "Num 22:28-31",
    "deu-5-16": "Deu 5:16-21",
    "jos-6-20": "Jos 6:20-21",
    "jos-10-12": "Jos 10:12-14",
    "jdg-7-19": "Jdg 7:19-22",
    "jdg-16-17": "Jdg 16:17-19",
    "rut-1-15": "Rut 1:15-18",
    "1sa-3-4": "1Sa 3:4-10",
    "1sa-17-48": "1Sa 17:48-51",
    "2sa-11-2": "2Sa 11:2-5",
    "2sa-18-9": "2Sa 18:9-10",
    "1ki-3-23": "1Ki 3:23-27",
    "1ki-10-1": "1Ki 10:1-5",
    "1ki-17-2": "1Ki 17:2-6",
    "1ki-18-36": "1Ki 18:36-39",
    "2ki-2-9": "2Ki 2:9-12",
    "neh-4-16": "Neh 4:16-18",
    "est-4-13": "Est 4:13-16",
    "job-1-18": "Job 1:18-22",
    "job-38-4": "Job 38:4-11",
    "job-39-19": "Job 39:19-25",
    "psa-1-1": "Psa 1:1-6",
    "psa-8-3": "Psa 8:3-8",
    "psa-23-1": "Psa 23:1-6",
    "psa-46-1": "Psa 46:1-5",
    "psa-90-10": "Psa 90:10-14",
    "psa-137-1": "Psa 137:1-6",
    "pro-6-6": "Pro 6:6-11",
    "pro-15-1": "Pro 15:1-5",
    "pro-31-10": "Pro 31:10-16",
    "ecc-1-2": "Ecc 1:2-7",
    "ecc-3-1": "Ecc 3:1-8",
    "sol-2-10": "Song 2:10-13",
    "isa-2-2": "Isa 2:2-4",
    "isa-6-1": "Isa 6:1-5",
    "isa-11-6": "Isa 11:6-9",
    "isa-40-28": "Isa 40:28-31",
    "jer-18-1": "Jer 18:1-6",
    "lam-3-22": "Lam 3:22-27",
    "eze-37-1": "Eze 37:1-6",
    "dan-3-21": "Dan 3:21-25",
    "dan-5-24": "Dan 5:24-28",
    "dan-6-16": "Dan 6:16-22",
    "amo-5-21": "Amo 5:21-24",
    "jon-1-14": "Jon 1:14-17",
    "jon-4-6": "Jon 4:6-10",
    "mic-6-6": "Mic 6:6-8",
    "mat-2-1": "Mat 2:1-6",
    "mat-5-3": "Mat 5:3-10",
    "mat-6-9": "Mat 6:9-15",
    "mat-6-26": "Mat 6:26-30",
    "mat-7-24": "Mat 7:24-27",
    "mat-13-3": "Mat 13:3-8",
    "mat-14-17": "Mat 14:17-21",
    "mat-14-25": "Mat 14:25-31",
    "mat-18-12": "Mat 18:12-14",
    "mat-21-12": "Mat 21:12-14",
    "mat-25-14": "Mat 25:14-18",
    "mat-26-69": "Mat 26:69-75",
    "mar-4-37": "Mar 4:37-41",
    "mar-10-23": "Mar 10:23-27",
    "luk-2-8": "Luk 2:8-14",
    "luk-10-30": "Luk 10:30-35",
    "luk-11-1": "Luk 11:1-4",
    "luk-14-28": "Luk 14:28-32",
    "luk-15-20": "Luk 15:20-24",
    "luk-19-1": "Luk 19:1-8",
    "luk-24-13": "Luk 24:13-17",
    "joh-2-6": "Joh 2:6-10",
    "joh-6-8": "Joh 6:8-13",
    "joh-8-3": "Joh 8:3-9",
    "joh-11-39": "Joh 11:39-44",
    "joh-20-24": "Joh 20:24-29",
    "act-2-1": "Act 2:1-6",
    "act-9-3": "Act 9:3-8",
    "act-17-22": "Act 17:22-25",
    "act-27-39": "Act 27:39-44",
    "rom-12-9": "Rom 12:9-15",
    "1co-13-4": "1Co 13:4-8",
    "gal-5-19": "Gal 5:19-23",
    "phi-4-11": "Phi 4:11-13",
    "1ti-6-6": "1Ti 6:6-10",
    "heb-11-1": "Heb 11:1-6",
    "jas-3-3": "Jas 3:3-6",
    "rev-21-1": "Rev 21:1-4",
}

DEVIL = [
    "abdication",
    "advice",
    "alligator",
    "bath",
    "brain",
    "brandy",
    "cabbage",
    "cat",
    "cemetery",
    "clock",
    "debt",
    "dog",
    "eat",
    "egotist",
    "epitaph",
    "experience",
    "fashion",
    "friendship",
    "geology",
    "goose",
    "gravitation",
    "history",
    "hope",
    "house",
    "hurricane",
    "indigestion",
    "laughter",
    "logic",
    "love",
    "mind",
    "monument",
    "mummy",
    "nose",
    "old",
    "optimism",
    "optimist",
    "ostrich",
    "painting",
    "palmistry",
    "patriotism",
    "peace",
    "perseverance",
    "plague",
    "politician",
    "president",
    "quotation",
    "railroad",
    "reporter",
    "revolution",
    "riches",
    "rumor",
    "saint",
    "success",
    "tomb",
    "werewolf",
    "zeal",
    "zoology",
]

JARGON = [
    "angry fruit salad",
    "annoyware",
    "bathtub curve",
    "bazaar",
    "bells and whistles",
    "blue screen of death",
    "boat anchor",
    "brooks's law",
    "brown-paper-bag bug",
    "bubble sort",
    "burn-in period",
    "busy-wait",
    "camelcase",
    "cathedral",
    "chrome",
    "cookie",
    "copyleft",
    "core dump",
    "creeping featuritis",
    "crippleware",
    "dangling pointer",
    "dead code",
    "deprecated",
    "dogfood",
    "easter egg",
    "eye candy",
    "fat-finger",
    "feeping creaturism",
    "flash crowd",
    "fork bomb",
    "gigo",
    "godwin's law",
    "gorilla arm",
    "hash collision",
    "heartbeat",
    "heisenbug",
    "hello world",
    "honey pot",
    "id10t error",
    "idempotent",
    "infant mortality",
    "infinite loop",
    "killer app",
    "little-endian",
    "livelock",
    "lurker",
    "mandelbug",
    "memory leak",
    "molly-guard",
    "nasal demons",
    "newbie",
    "ninety-ninety rule",
    "nuxi problem",
    "off-by-one error",
    "overclock",
    "pebkac",
    "plug-and-pray",
    "real soon now",
    "regexp",
    "reinvent the wheel",
    "rootkit",
    "rot13",
    "rubber-hose cryptanalysis",
    "sandbox",
    "schroedinbug",
    "script kiddies",
    "second-system effect",
    "september that never ended",
    "shareware",
    "slashdot effect",
    "smoke test",
    "sneakernet",
    "social engineering",
    "sock puppet",
    "sturgeon's law",
    "syntactic sugar",
    "tarball",
    "thundering herd problem",
    "trojan horse",
    "uptime",
    "voodoo programming",
    "wall time",
    "wave a dead chicken",
    "whack-a-mole",
    "working as designed",
    "zawinski's law",
]

# Words too common to say anything about a match; the rest are compared by their first 5 letters,
# a crude stem that makes "shaven" meet "shaved" and "persecutor" meet "persecutest".
_STOP_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "that",
        "this",
        "than",
        "then",
        "their",
        "there",
        "they",
        "them",
        "he",
        "him",
        "his",
        "she",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "so",
        "but",
        "if",
        "into",
        "out",
        "up",
        "down",
        "over",
        "under",
        "about",
        "what",
        "who",
        "how",
        "why",
        "when",
        "which",
        "while",
        "after",
        "before",
        "all",
        "any",
        "one",
        "two",
        "can",
        "only",
        "just",
        "every",
        "some",
        "more",
        "most",
        "very",
        "also",
        "itself",
        "himself",
        "own",
        "off",
        "once",
        "whose",
    ]
)
LEXICAL_SHARE, SEMANTIC_SHARE = 0.6, 0.35

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def kjv_passages(extracted: Path) -> Iterator[dict[str, str]]:
    """Each range's verses from its first, as many as fit in MAX_WORDS (the source says which)."""
    for suffix, reference in KJV.items():
        output = subprocess.run(  # noqa: S603 - the package's own reader and our references
            [str(extracted / "usr/bin/bible"), "-p", str(extracted / "usr/lib"), "-f", reference],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        verses = [line.split(" ", 1)[1] for line in output.splitlines() if line.strip()]
        while len(" ".join(verses).split()) > MAX_WORDS:
            verses.pop()
        chapter, first = reference.rsplit(":", 1)[0], int(reference.rsplit(":", 1)[1].split("-")[0])
        taken = f"{chapter}:{first}-{first + len(verses) - 1}"
        yield {
            "id": f"kjv-{suffix}",
            "source": f"King James Bible, {taken}",
            "text": " ".join(verses),
        }


def dictd_entries(extracted: Path, name: str) -> dict[str, str]:
    root = extracted / "usr/share/dictd"
    data = gzip.decompress((root / f"{name}.dict.dz").read_bytes())
    entries = {}
    for line in (root / f"{name}.index").read_text(encoding="utf-8").splitlines():
        headword, offset, length = line.split("\t")[:3]
        start, size = _base64_number(offset), _base64_number(length)
        entries[headword] = data[start : start + size].decode("utf-8")
    return entries


def dictionary_passages(
    extracted: Path, name: str, headwords: list[str], source: str
) -> Iterator[dict[str, str]]:
    entries = dictd_entries(extracted, name)
    for headword in headwords:
        slug = re.sub(r"[^a-z0-9]+", "-", headword.lower()).strip("-")
        # dictd marks cross-references with braces; the books print plain words.
        text = re.sub(r"\s+", " ", re.sub(r"[{}]", "", entries[headword])).strip()
        # A pronunciation after the headword (/kree'ping .../) is noise to both kinds of search.
        text = re.sub(r"^(.{1,60}?) /[^/\s][^/]{0,60}/", r"\1", text, count=1)
        yield {"id": f"{name}-{slug}", "source": f"{source}, {headword}", "text": text}


def _base64_number(digits: str) -> int:
    number = 0
    for digit in digits:
        number = number * 64 + _BASE64.index(digit)
    return number


def query_kind(query: str, relevant_texts: list[str]) -> str:
    """`lexical` if most of the query's words are in its passages, `semantic` if few are."""
    words = _stems(query)
    in_passages = set().union(*(_stems(text) for text in relevant_texts))
    share = sum(word in in_passages for word in words) / len(words)
    if share >= LEXICAL_SHARE:
        return "lexical"
    return "semantic" if share < SEMANTIC_SHARE else "mixed"


def _stems(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [word[:5] for word in words if word not in _STOP_WORDS and len(word) > 2]


def label_queries(passages: list[dict[str, str]]) -> None:
    texts = {passage["id"]: passage["text"] for passage in passages}
    path = HERE / "queries.jsonl"
    queries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for query in queries:
        query["kind"] = query_kind(query["query"], [texts[i] for i in query["relevant"]])
    path.write_text(
        "".join(json.dumps(query, ensure_ascii=False) + "\n" for query in queries), encoding="utf-8"
    )


def main(extracted: Path) -> None:
    passages = [
        *kjv_passages(extracted),
        *dictionary_passages(
            extracted, "devil", DEVIL, "Ambrose Bierce, The Devil's Dictionary (1911)"
        ),
        *dictionary_passages(extracted, "jargon", JARGON, "The Jargon File 4.4.7"),
    ]
    for passage in passages:
        words = len(passage["text"].split())
        if not MIN_WORDS <= words <= MAX_WORDS:
            raise SystemExit(f"{passage['id']}: {words} words, outside {MIN_WORDS}-{MAX_WORDS}")
    with (HERE / "passages.jsonl").open("w", encoding="utf-8") as out:
        for passage in passages:
            out.write(json.dumps(passage, ensure_ascii=False) + "\n")
    label_queries(passages)
    print(f"{len(passages)} passages")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
