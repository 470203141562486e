"""Synthetic licence-plate crops for a plate reader, written as a labels.tsv folder.

    python tools/make_plates.py --out data/plates-synth -n 100000 --seed 1 --workers 2
    python tools/make_plates.py --out data/plates-sheet -n 48 --seed 3 --sheet sheet.png   # a sample sheet

Formats (``--formats``; all by default): ``us`` (state name above, slogan or dealer frame below, 5 to 8 characters
with a dash, space or emblem between groups, many colour schemes), ``eu`` (blue band with the country code,
narrow letters, national layouts), ``br-old`` (``ABC-1234``, grey, city strip above), ``br-mercosur``
(``ABC1D23``), ``ar-old`` (``ABC 123``, white on black), ``ar-mercosur`` (``AB 123 CD``), ``latam`` (Chile,
Colombia, Mexico, Peru layouts). One row of characters only. The label is the plate's characters: upper-case
letters and digits, no separators, nothing of the state name, band or frame.

Fonts: the condensed faces of Debian's fonts-bebas-neue, fonts-liberation2 (Liberation Sans Narrow),
fonts-urw-base35 (Nimbus Sans Narrow), fonts-dejavu-extra (DejaVu Sans Condensed), fonts-roboto-unhinted
(Roboto Condensed) and fonts-league-spartan: the nearest free relatives of the plate faces (FE-Schrift, DIN 1451,
the US highway gothics, Brazil's Mandatory). Looks: frames, screws, dirt, shadows, glare, night and infra-red,
motion blur, perspective, loose and tight crops, low resolution. A seed gives identical files for any number of
workers.
"""
from __future__ import annotations

import math
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synth.text import generator_arguments, Resources, background, find_files, find_photos, run_jobs, worker_resources  # noqa: E402

FORMATS = ("us", "eu", "br-old", "br-mercosur", "ar-old", "ar-mercosur", "latam")
PLATE_FACES = ("BebasNeue-Bold", "BebasNeue-Regular", "LiberationSansNarrow-Bold", "NimbusSansNarrow-Bold",
               "DejaVuSansCondensed-Bold", "RobotoCondensed-Bold", "RobotoCondensed-Regular", "LeagueSpartan-Bold",
               "LeagueSpartan-SemiBold", "LiberationSansNarrow-Regular", "NimbusSansNarrow-Regular")
SMALL_FACES = ("DejaVuSans-Bold", "LiberationSans-Bold", "DejaVuSerif-Bold", "Lato-Bold", "OpenSans-Bold")
STATES = ("CALIFORNIA", "TEXAS", "FLORIDA", "NEW YORK", "ILLINOIS", "OHIO", "GEORGIA", "MICHIGAN", "ARIZONA",
          "WASHINGTON", "COLORADO", "OREGON", "NEVADA", "UTAH", "VIRGINIA", "MARYLAND", "NEW JERSEY", "INDIANA",
          "Pennsylvania", "Massachusetts", "Tennessee", "Missouri", "Wisconsin", "Minnesota", "Kentucky", "Alabama")
SLOGANS = ("Sunshine State", "Land of Lincoln", "Great Lakes", "Live Free or Die", "Empire State", "dmv.ca.gov",
           "The Lone Star State", "Grand Canyon State", "Garden State", "Keystone State", "Peach State",
           "VISITPA.COM", "Evergreen State", "America's Dairyland", "10,000 Lakes", "Smith Motors  Dealer",
           "Go Green", "In God We Trust", "Colorful Colorado", "Spirit of America")
EU_COUNTRIES = ("D", "F", "I", "NL", "PL", "E", "B", "P", "A", "CZ", "S", "FIN", "IRL", "L", "H", "SK")
BR_CITIES = ("SAO PAULO - SP", "RIO DE JANEIRO - RJ", "CURITIBA - PR", "BELO HORIZONTE - MG", "PORTO ALEGRE - RS",
             "SALVADOR - BA", "RECIFE - PE", "CAMPINAS - SP", "GOIANIA - GO", "FORTALEZA - CE")
LETTERS, DIGITS = string.ascii_uppercase, string.digits


def _pick(rng: np.random.Generator, pool: str, n: int) -> str:
    return "".join(pool[i] for i in rng.integers(0, len(pool), n))


def plate_text(fmt: str, rng: np.random.Generator) -> tuple[list[str], str]:
    """(groups of characters as printed, separator kind) for a format; the label is the groups joined."""
    L, D = (lambda n: _pick(rng, LETTERS, n)), (lambda n: _pick(rng, DIGITS, n))  # noqa: E731
    if fmt == "us":
        layouts = [[D(1) + L(3), D(3)], [L(3), D(4)], [L(3), D(3)], [D(3), L(3)], [L(2), D(5)], [D(1), L(2), D(4)],
                   [L(1) + D(2), L(3)], [D(4), L(2)], [L(3) + D(1), D(3)], [L(2) + D(1), L(1) + D(3)]]
        return layouts[int(rng.integers(len(layouts)))], str(rng.choice(["dash", "space", "emblem", "none"]))
    if fmt == "eu":
        layouts = [[L(2), D(3), L(2)], [L(2), D(2), L(2)], [L(1), L(2), D(4)], [D(4), L(3)], [L(2), D(3) + L(2)],
                   [L(3), D(4)], [L(1) + D(3), L(3)], [L(2), D(5)], [L(3), D(3)]]
        return layouts[int(rng.integers(len(layouts)))], str(rng.choice(["dash", "space"]))
    if fmt == "br-old":
        return [L(3), D(4)], "dash"
    if fmt == "br-mercosur":
        return [L(3) + D(1) + L(1) + D(2)], "none"
    if fmt == "ar-old":
        return [L(3), D(3)], "space"
    if fmt == "ar-mercosur":
        return [L(2), D(3), L(2)], "space"
    layouts = [[L(4), D(2)], [L(3), D(3)], [L(3), D(2), D(2)], [L(3), D(3)], [L(2), D(4)]]  # latam
    return layouts[int(rng.integers(len(layouts)))], str(rng.choice(["dash", "space", "dot"]))


def fit_text(image: Image.Image, box: tuple[int, int, int, int], text: str, font_path: str, fill,
             squeeze: float = 1.0) -> None:
    """Draw ``text`` to fill ``box`` (x0, y0, x1, y1) in height, squeezed to fit its width."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    font = ImageFont.truetype(font_path, max(6, int(h * 1.25)))
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(mask).text((1 - left, 1 - top), text, font=font, fill=255)
    width = min(x1 - x0, int(mask.width * h / mask.height * squeeze))
    mask = mask.resize((max(1, width), h), Image.LANCZOS)
    layer = Image.new("RGB", mask.size, fill)
    image.paste(layer, (x0 + (x1 - x0 - width) // 2, y0), mask)


def render_plate(fmt: str, rng: np.random.Generator, fonts: dict) -> tuple[np.ndarray, str]:
    """One flat, frontal plate (RGB uint8) and its label."""
    groups, sep = plate_text(fmt, rng)
    label = "".join(groups)
    aspect = {"us": 2.0, "eu": 4.7, "br-old": 3.1, "br-mercosur": 3.1, "ar-old": 2.3, "ar-mercosur": 3.1,
              "latam": 2.4}[fmt]
    h = 120
    w = int(h * aspect)
    face = fonts[str(rng.choice([f for f in PLATE_FACES if f in fonts] or list(fonts)))]
    small = fonts[str(rng.choice([f for f in SMALL_FACES if f in fonts] or list(fonts)))]
    schemes = {
        "us": [((245, 245, 245), (20, 40, 120)), ((250, 250, 250), (150, 20, 30)), ((255, 214, 0), (15, 15, 15)),
               ((20, 50, 140), (250, 250, 250)), ((235, 240, 245), (10, 10, 10)), ((250, 250, 235), (30, 90, 40))],
        "eu": [((245, 245, 245), (10, 10, 10)), ((250, 210, 0), (10, 10, 10))],
        "br-old": [((200, 200, 200), (20, 20, 20)), ((170, 30, 30), (240, 240, 240))],
        "br-mercosur": [((245, 245, 245), (15, 15, 15))], "ar-old": [((15, 15, 15), (240, 240, 240))],
        "ar-mercosur": [((245, 245, 245), (15, 15, 15))],
        "latam": [((250, 210, 0), (10, 10, 10)), ((245, 245, 245), (10, 10, 10)), ((240, 240, 240), (20, 60, 140))],
    }[fmt]
    bg, ink = schemes[int(rng.integers(len(schemes)))]
    bg = tuple(int(np.clip(c + rng.normal(0, 8), 0, 255)) for c in bg)
    plate = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(plate)
    if fmt == "us" and rng.random() < 0.4:  # a picture or gradient behind the characters
        art = background(rng, worker_resources().photos, h, w)
        plate = Image.fromarray(np.clip(0.45 * art + 0.55 * np.asarray(plate, np.float32), 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(plate)
    x0, x1, top, bottom = int(0.06 * w), int(0.94 * w), int(0.22 * h), int(0.82 * h)
    if fmt == "us":
        fit_text(plate, (int(0.2 * w), int(0.04 * h), int(0.8 * w), int(0.17 * h)), str(rng.choice(STATES)), small, ink)
        if rng.random() < 0.8:
            fit_text(plate, (int(0.18 * w), int(0.86 * h), int(0.82 * w), int(0.96 * h)), str(rng.choice(SLOGANS)),
                     small, ink)
    elif fmt == "eu":
        band = int(0.11 * w)
        draw.rectangle((0, 0, band, h), fill=(0, 51, 153))
        for k in range(12):  # the ring of stars
            a = 2 * math.pi * k / 12
            cx, cy = band / 2 + 0.28 * band * math.cos(a), 0.3 * h + 0.28 * band * math.sin(a)
            draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=(255, 204, 0))
        fit_text(plate, (int(0.02 * w), int(0.6 * h), band - int(0.02 * w), int(0.88 * h)), str(rng.choice(EU_COUNTRIES)),
                 small, (255, 255, 255))
        x0, top, bottom = band + int(0.03 * w), int(0.14 * h), int(0.86 * h)
    elif fmt == "br-old":
        fit_text(plate, (int(0.15 * w), int(0.04 * h), int(0.85 * w), int(0.18 * h)), str(rng.choice(BR_CITIES)), small, ink)
    elif fmt in ("br-mercosur", "ar-mercosur"):
        draw.rectangle((0, 0, w, int(0.2 * h)), fill=(0, 60, 160))
        title = "BRASIL" if fmt == "br-mercosur" else "REPUBLICA ARGENTINA"
        fit_text(plate, (int(0.3 * w), int(0.03 * h), int(0.7 * w), int(0.17 * h)), title, small, (255, 255, 255))
        top = int(0.27 * h)
    elif fmt == "latam" and rng.random() < 0.5:
        fit_text(plate, (int(0.25 * w), int(0.85 * h), int(0.75 * w), int(0.96 * h)),
                 str(rng.choice(["BOGOTA D.C.", "CHILE", "MEXICO", "PERU", "MEDELLIN", "JALISCO"])), small, ink)
    # The characters, groups apart, with the separator between them.
    gap = {"dash": "-", "space": " ", "emblem": " ", "dot": "·", "none": ""}[sep]
    printed = gap.join(groups) if sep != "dash" or rng.random() < 0.85 else " ".join(groups)
    fit_text(plate, (x0, top, x1, bottom), printed, face, ink, squeeze=rng.uniform(0.75, 1.1))
    if sep == "emblem" and len(groups) > 1:  # a small picture between the groups instead of a dash
        cx = int(x0 + (x1 - x0) * len(groups[0]) / max(1, len(printed)) + 0.02 * w)
        draw.ellipse((cx - 0.04 * h, (top + bottom) / 2 - 0.08 * h, cx + 0.04 * h, (top + bottom) / 2 + 0.08 * h),
                     fill=ink)
    if rng.random() < 0.7:  # the plate's own border
        draw.rectangle((2, 2, w - 3, h - 3), outline=ink, width=int(rng.integers(1, 4)))
    return np.asarray(plate), label


def scene(plate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The plate on a car: frame and screws, dirt, light, perspective, a loose or tight crop, camera artefacts."""
    h, w = plate.shape[:2]
    img = plate.astype(np.float32)
    if rng.random() < 0.5:  # screws
        for cx in (0.2 * w, 0.8 * w):
            for cy in ((0.1 * h, 0.9 * h) if rng.random() < 0.5 else (0.1 * h,)):
                cv2.circle(img, (int(cx), int(cy)), max(2, h // 25), (110, 110, 110), -1)
    if rng.random() < 0.35:  # dirt: dark, soft blobs
        dirt = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(3, 12))):
            cv2.circle(dirt, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(3, h // 4)), 1.0, -1)
        dirt = cv2.GaussianBlur(dirt, (0, 0), h / 15) * rng.uniform(0.2, 0.6)
        img *= 1 - dirt[..., None]
    pad = int(rng.uniform(0.05, 0.5) * h)
    car = np.full((h + 2 * pad, w + 2 * pad, 3), rng.uniform(0, 255, 3), np.float32)
    car += rng.normal(0, 6, car.shape).astype(np.float32)
    frame = int(rng.integers(0, max(1, pad // 2) + 1))
    if frame and rng.random() < 0.6:  # a plate holder around it
        cv2.rectangle(car, (pad - frame, pad - frame), (pad + w + frame, pad + h + frame),
                      tuple(float(c) for c in rng.uniform(0, 80, 3)), -1)
    car[pad : pad + h, pad : pad + w] = img
    img = car
    H, W = img.shape[:2]
    if rng.random() < 0.4:  # shadow across the plate
        x = np.linspace(0, 1, W)[None, :, None]
        img *= 1 - rng.uniform(0.2, 0.6) * (x > rng.uniform(0.2, 0.8))
    if rng.random() < 0.25:  # glare: a bright soft ellipse
        glare = np.zeros((H, W), np.float32)
        cv2.ellipse(glare, (int(rng.integers(W)), int(rng.integers(H))), (int(W * 0.2), int(H * 0.3)),
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        img += cv2.GaussianBlur(glare, (0, 0), H / 8)[..., None] * rng.uniform(80, 200)
    # Perspective: the camera above, beside, turned.
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    jitter = rng.uniform(-0.12, 0.12, (4, 2)) * [W, H] * (rng.random() < 0.7)
    dst = (src + jitter).astype(np.float32)
    dst -= dst.min(axis=0)
    m = cv2.getPerspectiveTransform(src, dst)
    out_w, out_h = int(dst[:, 0].max()) + 1, int(dst[:, 1].max()) + 1
    img = cv2.warpPerspective(np.clip(img, 0, 255).astype(np.uint8), m, (out_w, out_h), borderMode=cv2.BORDER_REPLICATE)
    # Crop around the plate: loose or tight (a little may be cut), as a plate detector would.
    corners = cv2.perspectiveTransform(np.float32([[[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]]]), m)[0]
    (px0, py0), (px1, py1) = corners.min(axis=0), corners.max(axis=0)
    mx, my = rng.uniform(-0.02, 0.25) * (px1 - px0), rng.uniform(-0.04, 0.35) * (py1 - py0)
    y0, y1 = int(max(0, py0 - my)), int(min(out_h, py1 + my))
    x0, x1 = int(max(0, px0 - mx)), int(min(out_w, px1 + mx))
    img = img[y0:y1, x0:x1]
    look = rng.random()
    if look < 0.12:  # night: dark and noisy
        img = np.clip(img.astype(np.float32) * rng.uniform(0.25, 0.5) + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    elif look < 0.22:  # infra-red: grey, the retro-reflective plate glowing
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gray = np.clip((gray - gray.mean()) * rng.uniform(1.3, 2.0) + rng.uniform(120, 170), 0, 255).astype(np.uint8)
        img = np.repeat(gray[..., None], 3, axis=2)
    if rng.random() < 0.25:  # motion blur along the road
        k = int(rng.integers(3, 9))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    if rng.random() < 0.35:  # far away: low resolution
        f = rng.uniform(0.25, 0.6)
        small = cv2.resize(img, (max(8, int(img.shape[1] * f)), max(4, int(img.shape[0] * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img


def make_one(args) -> tuple[str, str, str]:
    index, out, seed, formats = args
    rng = np.random.default_rng([seed, index])
    fmt = formats[int(rng.integers(len(formats)))]
    fonts = {Path(f).stem: f for f in worker_resources().fonts}
    plate, label = render_plate(fmt, rng, fonts)
    img = scene(plate, rng)
    if img.shape[0] > 64:
        img = cv2.resize(img, (max(1, round(img.shape[1] * 64 / img.shape[0])), 64), interpolation=cv2.INTER_AREA)
    name = f"{fmt}_{index:08d}.jpg"
    cv2.imwrite(str(Path(out) / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return name, label, fmt


def main(argv=None) -> int:
    p = generator_arguments(__doc__, 10000)
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    p.add_argument("--fonts", nargs="+", default=["/usr/share/fonts"], help="folders searched for the plate faces")
    p.add_argument("--photos", nargs="+", default=["/usr/share/wallpapers", "/usr/share/backgrounds"])
    p.add_argument("--sheet", help="also write a sample sheet of the first 48 plates (PNG) with their labels")
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be at least 1")
    wanted = set(PLATE_FACES) | set(SMALL_FACES)
    fonts = tuple(f for f in find_files(a.fonts, {".ttf", ".otf"}) if Path(f).stem in wanted)
    if not fonts:
        raise SystemExit(f"error: none of the plate fonts under {', '.join(a.fonts)}: apt-get install fonts-bebas-neue "
                         "fonts-liberation2 fonts-urw-base35 fonts-dejavu-extra fonts-roboto-unhinted fonts-league-spartan")
    res = Resources(words=(), fonts=fonts, photos=tuple(find_photos(a.photos)))
    out = Path(a.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out), a.seed, tuple(a.formats)) for i in range(a.count)]
    rows = run_jobs(make_one, jobs, res, a.workers, "plates", chunksize=64)
    (out / "labels.tsv").write_text("".join(f"{name}\t{label}\n" for name, label, _ in rows), encoding="utf-8")
    if a.sheet:
        write_sheet(out, rows[:48], a.sheet)
    print(f"wrote {a.count} plates to {out}")
    return 0


def write_sheet(out: Path, rows: list, path: str) -> None:
    tiles = []
    for name, label, fmt in rows:
        img = cv2.cvtColor(cv2.imread(str(out / "images" / name)), cv2.COLOR_BGR2RGB)
        img = cv2.resize(img, (180, 64))
        caption = Image.new("RGB", (180, 16), (255, 255, 255))
        ImageDraw.Draw(caption).text((2, 2), f"{label}  {fmt}", fill=(0, 0, 0))
        tiles.append(np.vstack([img, np.asarray(caption)]))
    while len(tiles) % 6:
        tiles.append(np.full_like(tiles[0], 255))
    Image.fromarray(np.vstack([np.hstack(tiles[i : i + 6]) for i in range(0, len(tiles), 6)])).save(path)


if __name__ == "__main__":
    sys.exit(main())
