"""Evidence files (以图为证) are judged by their content, never their name: a PNG named .pdf is a PNG, a text
file named .jpg is refused, a truncated JPEG is refused, an oversize file is refused; names are kept
safe; a thumbnail is upright, small and carries no EXIF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from followup import i18n
from followup.app import evidence
from followup.errors import InvalidInput

DATA = Path(__file__).parent.parent / "data"


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "name", "kind"),
    [
        ("PNG", "scan.pdf", "image/png"),  # a PNG renamed .pdf is a PNG
        ("JPEG", "photo", "image/jpeg"),
        ("WEBP", "site.png", "image/webp"),
    ],
)
def test_an_image_is_known_by_its_content_not_its_name(fmt: str, name: str, kind: str) -> None:
    assert evidence.check(image_bytes(fmt), name) == kind


def test_the_shipped_test_files_pass() -> None:
    assert evidence.check((DATA / "site-photo.jpg").read_bytes(), "x.jpg") == "image/jpeg"
    assert evidence.check((DATA / "minutes.pdf").read_bytes(), "纪要.pdf") == "application/pdf"


def test_a_text_file_named_jpg_is_refused_naming_the_file() -> None:
    with pytest.raises(InvalidInput) as refused:
        evidence.check("会议纪要：同意开工".encode(), "现场.jpg")
    message = str(refused.value)
    assert "现场.jpg" in message and "\n" not in message
    assert "only JPEG, PNG and WebP images and PDF files" in message


def test_the_refusal_is_chinese_for_the_county() -> None:
    i18n.use("zh_CN")
    with pytest.raises(InvalidInput) as refused:
        evidence.check(b"<html><script>alert(1)</script>", "a.png")
    message = str(refused.value)
    assert "a.png" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_jpeg_is_refused(cut: float, lenient: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    # WeasyPrint (the bulletin's PDF) sets this on import: Pillow then decodes a truncated JPEG happily
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    whole = image_bytes("JPEG", (400, 300), quality=95)
    assert evidence.check(whole, "ok.jpg") == "image/jpeg"
    with pytest.raises(InvalidInput, match=r"broken\.jpg: the image is damaged or incomplete"):
        evidence.check(whole[: int(len(whole) * cut)], "broken.jpg")


def test_a_png_with_only_its_magic_number_is_refused() -> None:
    with pytest.raises(InvalidInput, match="damaged"):
        evidence.check(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fake.png")


def test_oversize_and_empty_files_are_refused() -> None:
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1)
    assert evidence.check(big, "big.pdf", limit_mb=2) == "application/pdf"
    with pytest.raises(InvalidInput, match=r"big\.pdf is 1\.0 MB: the largest file accepted is 1 MB"):
        evidence.check(big, "big.pdf", limit_mb=1)
    with pytest.raises(InvalidInput, match="empty"):
        evidence.check(b"", "nothing.jpg")


@pytest.mark.parametrize(
    ("given", "kind", "kept"),
    [
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\李娜\\开工现场.JPG", "image/jpeg", "开工现场.jpg"),
        ("scan.pdf", "image/png", "scan.png"),  # the name ends as the content is
        ('a"b;\r\nc.png', "image/png", "ab c.png"),
        ("", "image/webp", "evidence.webp"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_sanitised(given: str, kind: str, kept: str) -> None:
    assert evidence.sanitised(given, kind) == kept


def test_a_thumbnail_is_upright_small_and_without_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    exif[0x010F] = "PhoneMaker"
    photo = image_bytes("JPEG", (800, 400), exif=exif.tobytes())
    thumb = Image.open(io.BytesIO(evidence.thumbnail(photo)))
    assert thumb.format == "JPEG"
    assert thumb.size == (160, 320)  # turned upright, then fitted into 320 px
    assert not thumb.getexif()
    assert "exif" not in thumb.info


def test_a_transparent_png_gets_a_white_thumbnail() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(out, "PNG")
    thumb = Image.open(io.BytesIO(evidence.thumbnail(out.getvalue())))
    assert thumb.mode == "RGB" and thumb.getpixel((25, 25)) == (255, 255, 255)
