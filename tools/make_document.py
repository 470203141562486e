"""The README's document example: a plain invoice, black on white, in DejaVu Serif and Sans (fonts-dejavu-core).

    python tools/make_document.py --out examples/document.png
    ocr-run examples/document.png --out examples/document-annotated.jpg

Its text is fixed (the invoice of issue 12, with a table and small print), so the example is the same on any
machine with the same fonts; its text goes beside it (OUT with .txt: one line per line drawn).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
# (font file, size in px, x, y, text): one printed line each
LINES = [
    ("DejaVuSerif-Bold.ttf", 34, 60, 50, "ACME Supplies Ltd."),
    ("DejaVuSans.ttf", 15, 60, 98, "12 Harbour Road, Bristol BS1 4QA  ·  +44 117 496 0123"),
    ("DejaVuSerif.ttf", 22, 60, 160, "Invoice number 48213 dated 12 March 2024"),
    ("DejaVuSerif.ttf", 22, 60, 200, "Customer: Northwind Traders, order #7731"),
    ("DejaVuSans-Bold.ttf", 18, 60, 270, "Item"),
    ("DejaVuSans-Bold.ttf", 18, 430, 270, "Qty"),
    ("DejaVuSans-Bold.ttf", 18, 560, 270, "Price"),
    ("DejaVuSans.ttf", 18, 60, 310, "Printer paper A4"),
    ("DejaVuSans.ttf", 18, 430, 310, "20"),
    ("DejaVuSans.ttf", 18, 560, 310, "€89.00"),
    ("DejaVuSans.ttf", 18, 60, 345, "Toner cartridge"),
    ("DejaVuSans.ttf", 18, 430, 345, "3"),
    ("DejaVuSans.ttf", 18, 560, 345, "€1,065.00"),
    ("DejaVuSans.ttf", 18, 60, 380, "Delivery"),
    ("DejaVuSans.ttf", 18, 430, 380, "1"),
    ("DejaVuSans.ttf", 18, 560, 380, "€95.50"),
    ("DejaVuSerif-Bold.ttf", 22, 60, 440, "Total amount due: 1249.50 EUR"),
    ("DejaVuSerif.ttf", 22, 60, 490, "Please pay within thirty days of receipt."),
    ("DejaVuSerif.ttf", 22, 60, 530, "Questions? Email billing@example.com"),
    ("DejaVuSans.ttf", 12, 60, 600, "Payment by bank transfer to IBAN GB33 BUKB 2020 1555 5555 55. Late payments"),
    ("DejaVuSans.ttf", 12, 60, 618, "carry interest of 8% a year (Late Payment Act 1998). VAT no. 123 4567 89."),
]
SIZE = (800, 680)


def render() -> Image.Image:
    page = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(page)
    for font, size, x, y, text in LINES:
        draw.text((x, y), text, font=ImageFont.truetype(str(FONTS / font), size), fill="black")
    for y in (298, 418):  # the table's rules
        draw.line([(60, y), (700, y)], fill="black", width=1)
    return page


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the page image to write (PNG)")
    a = p.parse_args(argv)
    missing = sorted({f for f, *_ in LINES if not (FONTS / f).exists()})
    if missing:
        p.error(f"fonts not found in {FONTS}: {', '.join(missing)} (Debian: apt-get install fonts-dejavu-core)")
    render().save(a.out)
    Path(a.out).with_suffix(".txt").write_text("\n".join(text for *_, text in LINES) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
