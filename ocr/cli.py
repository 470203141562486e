"""ocr-run: read the text in images with the shipped models.

    ocr-run photo.jpg --out annotated.jpg               # find and read every word, draw them
    ocr-run photos/ --out-dir annotated/ --json results.jsonl
    ocr-run --no-detect word.png                        # the image is one word crop ('words' model)
    ocr-run --no-detect --model captcha captcha.png     # the shipped captcha reader

Prints one line per text line, 'path<TAB>text', in reading order (with --no-detect, one line per image).
--json writes one record per image, the same shape in both modes. Images are read in batches (the
detector's batch of photos, the recognizer's batch of crops). A missing or broken image is named on stderr,
the others are still read, and the exit code is 1.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .config import DEFAULT_CONFIG, ConfigError, load_config
from .io import InputError, expand_inputs, read_image


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ocr-run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Every setting is listed with its default in {DEFAULT_CONFIG}: copy it, keep what you change, "
               "and pass it with --config.")
    p.add_argument("inputs", nargs="+", help="image files, PDFs, multi-page TIFFs, folders of them, or glob patterns")
    p.add_argument("--no-detect", action="store_true", help="read each image as one crop (no text detection)")
    p.add_argument("--out", help="annotated image to write (one input only)")
    p.add_argument("--out-dir", help="folder for annotated images, one per input, named as the input")
    p.add_argument("--json", metavar="FILE", help="write JSON Lines, one record per image ('-' = stdout)")
    p.add_argument("--config", help="a YAML file overriding any subset of pipeline.yaml")
    p.add_argument("--detector", help="detector: a shipped model name or a .pt file")
    p.add_argument("--max-side", type=int, help="detector input size limit (long side, pixels)")
    p.add_argument("--box-thresh", type=float, help="drop detected regions below this mean probability")
    p.add_argument("--model", help="recognizer: a shipped model name (words, captcha, captcha-v2, captcha-base, plates) or a .pt file")
    p.add_argument("--decoder", choices=["auto", "greedy", "beam"],
                   help="CTC decoder: greedy (best path), beam (prefix beam search, with the language model where one "
                        "applies), auto (default: beam where a language model applies, else greedy)")
    p.add_argument("--beam-width", type=int, help="prefixes kept by the beam decoder")
    p.add_argument("--language-model", help="beam search's character language model: auto (the shipped one for "
                                             "the words charset), none, or a file from tools/make_lm.py")
    p.add_argument("--text-format", "--plate-format", dest="text_format",
                   help="readings must fit a format: a plate format (br, ar) or patterns of L (letter), D (digit), "
                        "A (any), comma-separated, e.g. LLLDDDD,LLLDLDD")
    p.add_argument("--min-confidence", type=float, help="drop readings below this confidence (0 to 1)")
    p.add_argument("--batch-size", type=int, help="crops per forward pass")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run")
    p.add_argument("--backend", choices=["auto", "torch", "onnx"],
                   help="torch, or onnx (onnxruntime: pip install 'crnn-ocr[onnx]'); auto takes onnx where installed")
    p.add_argument("--format", choices=["text", "hocr"], default="text",
                   help="what stdout gets: 'path<TAB>line' text (default), or one hOCR document of every page")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="read on Ray Data: a local Ray, or the cluster at ADDRESS ('auto', 'ray://head:10001'); "
                        "inputs may then also be URIs Ray reads (s3://bucket/photos/). Needs the [ray] extra")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that share the images (each loads the models and takes its share of the cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line (the bar shows only on a terminal)")
    return p, p.parse_args(argv)


def cli_overrides(a) -> dict:
    sections = {
        "detector": {"model": a.detector, "max_side": a.max_side, "box_thresh": a.box_thresh},
        "recognizer": {"model": a.model, "decoder": a.decoder, "beam_width": a.beam_width,
                       "language_model": a.language_model,
                       "text_format": a.text_format, "min_confidence": a.min_confidence, "batch_size": a.batch_size},
    }
    out: dict = {name: {k: v for k, v in keys.items() if v is not None} for name, keys in sections.items()}
    if a.device:
        out["device"] = a.device
    if a.backend:
        out["backend"] = a.backend
    return out


def annotated_targets(a, paths: list[str]) -> dict[str, str]:
    """Input path -> annotated image path, for --out (one input) or --out-dir (same file name)."""
    if a.out:
        return {path: a.out for path in paths}
    if a.out_dir:
        return {path: str(Path(a.out_dir) / (f"{Path(path.path).stem}-page{path.page}.png" if path.page else Path(path).name))
                for path in paths}
    return {}


_WORKER: dict = {}  # this process's pipeline and settings (one per worker process, or the main one)


def _start_worker(cfg, detect: bool, workers: int | None) -> None:
    """Load the models once for this process; with ``workers``, take a 1/workers share of the cores."""
    from .pipeline import Pipeline  # torch (or onnxruntime) loads only once the arguments are known good

    threads = None
    if workers:
        threads = max(1, (os.cpu_count() or 1) // workers)
        from .pipeline import choose_backend

        if choose_backend(cfg, detect) == "torch":
            import torch

            torch.set_num_threads(threads)
    try:
        _WORKER.update(pipeline=Pipeline.from_config(cfg, detect=detect, threads=threads), cfg=cfg, error=None)
    except (FileNotFoundError, ValueError) as e:
        _WORKER.update(error=e)


def _read_chunk(chunk: list[tuple[str, str | None]]) -> list[tuple[str, dict | None, str, list[str], list]]:
    """Read one batch of images: per path, (path, JSON record or None, text, problems, lines), in order."""
    if _WORKER.get("error"):
        raise _WORKER["error"]
    pipeline, cfg = _WORKER["pipeline"], _WORKER["cfg"]
    start = time.perf_counter()
    loaded, out = [], {}
    for path, target in chunk:
        try:
            loaded.append((path, target, read_image(path)))
        except InputError as e:
            out[path] = (path, None, "", [str(e)], [])
    results = pipeline.read_batch([image for _, _, image in loaded])
    seconds = (time.perf_counter() - start) / max(1, len(loaded))  # the batch's time, shared equally
    for (path, target, image), result in zip(loaded, results):
        problems = [] if not target else write_annotated(image, result, target, cfg)
        where = {"image": path.path, "page": path.page} if getattr(path, "page", None) else {"image": str(path)}
        out[path] = (path, {**where, **result.to_dict(), "seconds": round(seconds, 4)}, result.text, problems,
                     result.lines)
    return [out[path] for path, _ in chunk]


def write_annotated(image: np.ndarray, result, target: str, cfg) -> list[str]:
    """Draw the words and save them to ``target``; the problem, if it cannot be written."""
    from .draw import draw_words

    annotated = draw_words(image, [(w.points, w.text) for w in result.words], cfg.draw.line_width, cfg.draw.font_size,
                           cfg.draw.layout)
    try:
        Image.fromarray(annotated).save(target)
        return []
    except (OSError, ValueError) as e:
        return [f"{target}: cannot write ({e})"]


def run_on_ray(a, cfg, paths: list[str], errors: list[str]) -> int:
    """--ray: the same records and text lines as a local run, from an actor pool on Ray Data."""
    try:
        from .distributed import read_on_ray
    except ImportError:
        print("error: --ray needs the ray extra: pip install 'crnn-ocr[ray]'", file=sys.stderr)
        return 2
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    failed = bool(errors)
    json_out = None if not a.json else sys.stdout if a.json == "-" else open(a.json, "w", encoding="utf-8")
    sources = [paths] if paths else []
    sources += [uri for uri in a.inputs if "://" in uri]
    address = None if a.ray == "local" else a.ray
    try:
        for source in sources:
            for record, text in read_on_ray(source, cfg, detect=not a.no_detect, address=address, workers=a.workers,
                                            with_text=True):
                if "error" in record:
                    print(f"error: {record['error']}", file=sys.stderr)
                    failed = True
                    continue
                if json_out is not None:
                    json_out.write(json.dumps(record) + "\n")
                if json_out is not sys.stdout:
                    for line in text.split("\n"):
                        print(f"{record['image']}\t{line}")
    finally:
        if json_out is not None and json_out is not sys.stdout:
            json_out.close()
    return 1 if failed else 0


def main(argv=None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader left early (ocr-run ... | head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141


def _main(argv=None) -> int:
    p, a = parse_args(argv)
    uris = [i for i in a.inputs if "://" in i]
    if uris and not a.ray:
        p.error(f"{uris[0]}: URIs are read with --ray")
    paths, errors = expand_inputs([i for i in a.inputs if "://" not in i])
    if a.out and (a.out_dir or len(paths) + len(errors) > 1):
        p.error("--out takes one input; use --out-dir for several")
    if (a.out or a.out_dir) and a.no_detect:
        p.error("--out and --out-dir draw detected words: not with --no-detect")
    if a.out and Image.registered_extensions().get(Path(a.out).suffix.lower()) not in Image.SAVE:
        p.error(f"--out {a.out}: not an image format this tool writes (use .jpg or .png)")
    targets = annotated_targets(a, paths)
    if a.out_dir:
        clashes = [t for t, n in collections.Counter(targets.values()).items() if n > 1]
        if clashes:
            p.error(f"--out-dir: several inputs would write {clashes[0]}; give inputs with distinct names")
        if any(Path(t).resolve() == Path(src).resolve() for src, t in targets.items()):
            p.error("--out-dir: would overwrite the input images; choose another folder")
    try:
        cfg = load_config(a.config, cli_overrides(a))
    except ConfigError as e:
        print(f"error: config: {e}", file=sys.stderr)
        return 2
    if a.workers < 1:
        p.error("--workers must be at least 1")
    if a.format == "hocr" and a.json == "-":
        p.error("--format hocr writes to stdout: give --json a file")
    if a.ray:
        if a.format == "hocr":
            p.error("--format hocr is written by a local run, not with --ray")
        if a.out or a.out_dir:
            p.error("--ray writes records and text: not with --out or --out-dir")
        if any(path.page for path in paths):
            p.error("--ray reads image files: PDF and multi-page TIFF pages are read without it")
        return run_on_ray(a, cfg, paths, errors)
    workers = min(a.workers, max(1, len(paths)))
    try:
        if workers == 1:
            _start_worker(cfg, not a.no_detect, None)
        if _WORKER.get("error"):
            raise _WORKER["error"]
    except (FileNotFoundError, ValueError) as e:
        hint = " (to read images that are already word crops, pass --no-detect)" if "detector weights" in str(e) else ""
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    try:
        if a.out_dir:
            Path(a.out_dir).mkdir(parents=True, exist_ok=True)
        json_out = None if not a.json else sys.stdout if a.json == "-" else open(a.json, "w", encoding="utf-8")
    except OSError as e:
        print(f"error: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    from tqdm import tqdm

    failed = bool(errors)
    size = cfg.detector.batch_size if not a.no_detect else cfg.recognizer.batch_size
    chunks = [[(path, targets.get(path)) for path in paths[i : i + size]] for i in range(0, len(paths), size)]
    bar = tqdm(total=len(paths), desc="ocr", unit="img", file=sys.stderr, leave=False,
               disable=True if a.quiet or len(paths) < 4 else None)  # None: only on a terminal
    pool = None
    if workers > 1:
        import multiprocessing

        # Each process loads the models once and takes its share of the cores; chunks come back in order.
        pool = multiprocessing.get_context("fork").Pool(workers, _start_worker, (cfg, not a.no_detect, workers))
        results = pool.imap(_read_chunk, chunks)
    else:
        results = map(_read_chunk, chunks)
    words = images = 0
    start = time.perf_counter()
    if a.format == "hocr":
        from .hocr import HEAD, hocr_end, hocr_page

        print(HEAD, end="")
    try:
        for outcome in results:
            for path, record, text, problems, lines in outcome:
                for problem in problems:
                    print(f"error: {problem}", file=sys.stderr)
                    failed = True
                if record is None:
                    continue
                images, words = images + 1, words + len(record["words"])
                if json_out is not None:
                    json_out.write(json.dumps(record) + "\n")
                if a.format == "hocr":
                    print(hocr_page(record, lines, images), end="")
                elif json_out is not sys.stdout:
                    for line in text.split("\n"):
                        print(f"{path}\t{line}")
            bar.update(len(outcome))
    except (FileNotFoundError, ValueError) as e:  # a worker could not load the models
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if a.format == "hocr":
            print(hocr_end(), end="")
        bar.close()
        if pool is not None:
            pool.terminate()
        if json_out is not None and json_out is not sys.stdout:
            json_out.close()
    if not a.quiet and len(paths) >= 4:
        seconds = time.perf_counter() - start
        print(f"{images} images, {words} words, {images / max(seconds, 1e-9):.1f} images/s, "
              f"{len(paths) + len(errors) - images} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
