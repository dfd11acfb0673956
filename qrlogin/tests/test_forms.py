"""The start form: SOCKS5 proxy validation and pair-code fields."""

from __future__ import annotations

import pytest
from django import forms

from qrlogin.forms import StartForm, parse_proxy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1:1080:user:pass", "10.0.0.1:1080:user:pass"),
        (" proxy.example.com:65535:u:p ", "proxy.example.com:65535:u:p"),
        ("localhost:1:u:p", "localhost:1:u:p"),
        ("10.0.0.1:01080:u:pa:ss", "10.0.0.1:1080:u:pa:ss"),  # a password may hold ':'
    ],
)
def test_valid_proxies(text: str, expected: str) -> None:
    assert parse_proxy(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("10.0.0.1:1080:user", "proxy_format"),
        ("10.0.0.1", "proxy_format"),
        ("300.1.1.1:1080:u:p", "proxy_host"),
        ("10.0.0:1080:u:p", "proxy_host"),
        ("bad_host!:1080:u:p", "proxy_host"),
        (":1080:u:p", "proxy_host"),
        ("10.0.0.1:0:u:p", "proxy_port"),
        ("10.0.0.1:65536:u:p", "proxy_port"),
        ("10.0.0.1:http:u:p", "proxy_port"),
        ("10.0.0.1:1080::p", "proxy_user"),
        ("10.0.0.1:1080:u:", "proxy_pass"),
    ],
)
def test_invalid_proxies(text: str, code: str) -> None:
    with pytest.raises(forms.ValidationError) as info:
        parse_proxy(text)
    assert info.value.code == code
    assert text.strip() not in str(info.value.message)  # the input is never echoed


def test_proxy_is_never_rendered_back() -> None:
    form = StartForm(
        data={"pc_type": "1", "mode": "qr", "proxy": "10.0.0.1:1080:user:s3cret-pw"},
        targets=[],
    )
    assert form.is_valid(), form.errors
    assert "s3cret-pw" not in str(form["proxy"])
    bad = StartForm(
        data={"pc_type": "1", "mode": "qr", "proxy": "10.0.0.1:99999:u:s3cret"}, targets=[]
    )
    assert not bad.is_valid()
    assert "s3cret" not in str(bad["proxy"]) and "s3cret" not in str(bad.errors)


def test_pair_mode_needs_a_phone() -> None:
    form = StartForm(data={"pc_type": "1", "mode": "pair", "is_easy": "y"}, targets=[])
    assert not form.is_valid()
    assert "phone" in form.errors
    form = StartForm(
        data={"pc_type": "2", "mode": "pair", "phone": "+86 187-3333 4444", "is_easy": "b"},
        targets=[("10085", "xxxx")],
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "8618733334444"
    assert form.cleaned_data["is_easy"] == "b"


def test_qr_mode_drops_pair_fields() -> None:
    form = StartForm(
        data={"pc_type": "1", "mode": "qr", "phone": "8618733334444", "is_easy": "y"},
        targets=[],
    )
    assert form.is_valid()
    assert form.cleaned_data["phone"] == "" and form.cleaned_data["is_easy"] == ""
