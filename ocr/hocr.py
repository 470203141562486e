"""hOCR output (the HTML microformat Tesseract and OCR tools exchange): pages, lines and words with their boxes
and confidences. Torch-free."""
from __future__ import annotations

from html import escape

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<meta name="ocr-system" content="crnn-ocr"/>
<meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word"/>
</head>
<body>
"""


def _bbox(points) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return int(min(xs)), int(min(ys)), int(round(max(xs))), int(round(max(ys)))


def hocr_page(record: dict, lines: list[list[int]], number: int) -> str:
    """One ``ocr_page`` div from an ocr-run record and its lines (indices into its words, in reading order)."""
    image = escape(record["image"], quote=True).replace("'", "&#x27;")
    out = [f"<div class='ocr_page' id='page_{number}' title='image \"{image}\"; bbox 0 0 {record['width']} "
           f"{record['height']}; ppageno {record.get('page', number) - 1}'>"]
    words = record["words"]
    for k, line in enumerate(lines, 1):
        boxes = [_bbox(words[i]["points"]) for i in line]
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        out.append(f" <span class='ocr_line' id='line_{number}_{k}' title='bbox {x0} {y0} {x1} {y1}'>")
        for i, box in zip(line, boxes):
            out.append(f"  <span class='ocrx_word' id='word_{number}_{i + 1}' title='bbox {box[0]} {box[1]} {box[2]} "
                       f"{box[3]}; x_wconf {round(100 * words[i]['score'])}'>{escape(words[i]['text'])}</span>")
        out.append(" </span>")
    out.append("</div>")
    return "\n".join(out) + "\n"


def hocr_end() -> str:
    return "</body>\n</html>\n"
