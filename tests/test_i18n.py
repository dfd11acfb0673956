"""The agent-facing pages speak Simplified Chinese when the user chooses it."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.fixtures import People, client_for


@pytest.mark.django_db
def test_qr_login_and_actions_pages_in_chinese(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    start = client.get(reverse("qrlogin:start")).content.decode()
    assert "客服号运行位置" in start and "手机关联方式" in start
    assert "打开会话动作" in client.get(reverse("actions:list")).content.decode()


_ROOT = Path(__file__).resolve().parents[1]
_PO = _ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _statistics(po: Path) -> str:
    done = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr.strip().splitlines()[-1]


def test_zh_hans_catalogue_is_complete_for_the_source_tree(tmp_path: Path) -> None:
    """The catalogue as committed, re-extracted from today's templates and code, has every
    message translated and none fuzzy (msgfmt --statistics), and the committed .mo holds the
    same translations. A string added without its Chinese fails here."""
    tree = tmp_path / "tree"
    shutil.copytree(
        _ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".venv", "var", "artifacts", ".git", "node_modules", "__pycache__", ".*_cache"
        ),
    )
    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://x@127.0.0.1/x")}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"]
        + [f"--ignore={d}" for d in ("var", "artifacts", "bench")],
        cwd=tree,
        env=env,
        capture_output=True,
        check=True,
    )
    stats = _statistics(tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    assert re.fullmatch(r"\d+ translated messages\.", stats), stats
    # The committed binary catalogue matches the committed text catalogue.
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(_PO)], check=True)
    with compiled.open("rb") as fresh, (_PO.with_suffix(".mo")).open("rb") as committed:
        assert (
            gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
            == gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
        ), "django.mo is stale: run `make messages`"


_GLOSSARY = _ROOT / "docs" / "glossary-zh.md"


def _glossary_rows() -> list[tuple[list[str], list[str]]]:
    rows = []
    for line in _GLOSSARY.read_text().splitlines():
        if not line.startswith("| ") or line.startswith(("| English", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        english = [re.sub(r"\(.*?\)", "", e).strip() for e in cells[0].split(" / ")]
        chinese = [z.strip() for z in cells[1].split(" / ")]
        rows.append((english, chinese))
    return rows


def test_the_catalogue_uses_the_glossary_words(tmp_path: Path) -> None:
    """The .po is the source of truth, edited with the standard tools; this reads it (through
    msgfmt) and checks every glossary term: a message that is exactly the English term says
    the glossary's Chinese, and every glossary word is used somewhere in the catalogue."""
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(_PO)], check=True)
    with compiled.open("rb") as fh:
        catalog: dict[Any, str] = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    by_msgid = {k.lower(): v for k, v in catalog.items() if isinstance(k, str) and k}
    every_msgstr = "\n".join(v for v in catalog.values() if isinstance(v, str))
    rows = _glossary_rows()
    assert len(rows) >= 20, "the glossary table was not read"
    wrong = []
    for english, chinese in rows:
        assert any(z in every_msgstr for z in chinese), f"{chinese} is used by no message"
        for i, term in enumerate(english):
            wanted = [chinese[i]] if len(english) == len(chinese) else chinese
            said = by_msgid.get(term.lower())
            if said is not None and not any(w in said for w in wanted):
                wrong.append(f"{term!r} is {said!r}, the glossary says {wanted}")
    assert not wrong, wrong


def test_zh_hans_javascript_catalogue_is_complete() -> None:
    """static/js's strings (served by Django's JavaScriptCatalog at /jsi18n/) are all
    translated, none fuzzy, and the committed djangojs.mo matches djangojs.po."""
    po = _PO.with_name("djangojs.po")
    stats = _statistics(po)
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    found = set()
    for js in (_ROOT / "static" / "js").glob("*.js"):
        found |= set(re.findall(r'gettext\("([^"]+)"\)', js.read_text(encoding="utf-8")))
    text = po.read_text(encoding="utf-8")
    assert found and all(f'msgid "{m}"' in text for m in found), found
    with po.with_suffix(".mo").open("rb") as committed:
        catalog = gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
    assert all(catalog.get(m) for m in found), "djangojs.mo is stale: run `make messages`"


# Where 账号 is right (docs/glossary-zh.md): compounds, the agent's seat, the vendor's own
# labels; everywhere else a WhatsApp account is a 客服号.
_ZHANGHAO_COMPOUNDS = (
    "坐席账号",
    "登录账号",
    "账号类型",
    "账号状态",
    "账号总览",
    "账号被封",
    "客服账号",
)
_SIGN_IN_WORDS = ("password", "e-mail", "username")


def test_a_whatsapp_account_is_a_kefuhao_in_every_message(tmp_path: Path) -> None:
    """账号 names a WhatsApp account only inside the glossary's compounds; a person's own
    sign-in account (password, e-mail messages) keeps it."""
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(_PO)], check=True)
    with compiled.open("rb") as fh:
        catalog: dict[Any, str] = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    wrong = []
    for msgid, msgstr in catalog.items():
        english = msgid[0] if isinstance(msgid, tuple) else msgid
        if not english or any(w in english.lower() for w in _SIGN_IN_WORDS):
            continue
        rest = msgstr
        for compound in _ZHANGHAO_COMPOUNDS:
            rest = rest.replace(compound, "")
        if "账号" in rest:
            wrong.append(f"{english!r}: {msgstr!r}")
    assert wrong == []
