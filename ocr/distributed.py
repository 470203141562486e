"""Batch OCR on Ray Data: many images over the cores of one machine or a cluster, the records of a local run.

    from ocr.config import load_config
    from ocr.distributed import read_on_ray

    for record in read_on_ray(["a.jpg", "b.jpg"], load_config()):      # local paths, in input order
        print(record)
    read_on_ray("s3://bucket/photos/", cfg, address="ray://head:10001")   # anything ray.data.read_binary_files reads

An actor pool (``workers`` actors, each loading the models once) reads batches of images; each image gives the
record ``ocr-run --json`` writes, in input order; an image that cannot be read gives ``{"image", "error"}`` and
the others go on. Needs the [ray] extra: pip install 'crnn-ocr[ray]'.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import time
from typing import Iterator

from .config import PipelineConfig

LOCAL_OBJECT_STORE = 512 * 2**20  # Ray's default takes 30 % of RAM; OCR batches are small


class _Reader:
    """One actor: the pipeline loaded once, then batches of rows (index, path[, bytes]) -> JSON records."""

    def __init__(self, cfg: PipelineConfig, detect: bool, threads: int):
        from .pipeline import Pipeline, choose_backend

        if choose_backend(cfg, detect) == "torch":
            import torch

            torch.set_num_threads(threads)
        self.pipeline = Pipeline.from_config(cfg, detect=detect, threads=threads)

    def __call__(self, batch: dict) -> dict:
        from engine.images import load_image

        start = time.perf_counter()
        records: dict[int, dict] = {}
        texts: dict[int, str] = {}
        loaded = []
        indices = batch["index"] if "index" in batch else range(len(batch["path"]))  # files: their order in the batch
        for k, (index, path) in enumerate(zip(indices, batch["path"])):
            source = io.BytesIO(batch["bytes"][k]) if "bytes" in batch else path
            try:  # one bad image is reported in its record; the batch goes on
                loaded.append((int(index), str(path), load_image(source, name=str(path))))
            except ValueError as e:
                records[int(index)] = {"image": str(path), "error": str(e)}
        results = self.pipeline.read_batch([image for _, _, image in loaded])
        seconds = (time.perf_counter() - start) / max(1, len(loaded))
        for (index, path, _), result in zip(loaded, results):
            records[index] = {"image": path, **result.to_dict(), "seconds": round(seconds, 4)}
            texts[index] = result.text
        order = sorted(records)
        return {"index": order, "record": [json.dumps(records[i]) for i in order],
                "text": [texts.get(i, "") for i in order]}


def start_ray(address: str | None = None) -> None:
    """Join the cluster at ``address`` ('auto', 'ray://host:10001'), or start a small local Ray."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=LOCAL_OBJECT_STORE, include_dashboard=False,
                 log_to_driver=False, _temp_dir=os.path.join(tempfile.gettempdir(), "ray-ocr"))


def read_on_ray(source: list[str] | str, cfg: PipelineConfig, detect: bool = True, address: str | None = None,
                workers: int = 2, batch_size: int | None = None, with_text: bool = False) -> Iterator:
    """Records for every image of ``source`` (local paths, or a URI that ``ray.data.read_binary_files`` reads,
    such as ``s3://bucket/prefix/``), in input order; with ``with_text``, (record, text lines) pairs."""
    import ray

    start_ray(address)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    if isinstance(source, str):  # object storage or a remote folder: the bytes travel with the rows
        ds = ray.data.read_binary_files(source, include_paths=True)
    else:
        ds = ray.data.from_items([{"index": i, "path": str(p)} for i, p in enumerate(source)])
    cores = int(ray.available_resources().get("CPU", 1))
    threads = max(1, cores // max(1, workers))
    size = batch_size or (cfg.detector.batch_size if detect else cfg.recognizer.batch_size)
    ds = ds.map_batches(_Reader, fn_constructor_kwargs={"cfg": cfg, "detect": detect, "threads": threads},
                        batch_size=size, batch_format="numpy", concurrency=workers, num_cpus=threads)
    for row in ds.iter_rows():
        yield (json.loads(row["record"]), row["text"]) if with_text else json.loads(row["record"])
