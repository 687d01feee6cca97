"""``gongfang grade``: grade photos from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; directories expand to their images (sorted, recursively)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            out.append(p)
    return out


def grade(
    paths: Annotated[list[Path], typer.Argument(help="照片或目录 photos or folders of photos")],
    product: Annotated[
        str, typer.Option("--product", "-p", help="产品：strawberry 草莓 | ruoye 箬叶 / product")
    ] = "strawberry",
    single: Annotated[
        bool,
        typer.Option(
            "--single", help="整张图是一个果 the whole image is one fruit (lane camera crop)"
        ),
    ] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="每行一个 JSON one JSON object per line")
    ] = False,
    annotate: Annotated[
        Path | None,
        typer.Option("--annotate", help="把标注图写入此目录 write annotated photos to this folder"),
    ] = None,
) -> None:
    """给草莓或箬叶照片定级，每张输出一个 JSON / Grade strawberry or 箬叶 photos; print one
    JSON object per image."""
    import json
    import sys

    import cv2

    from edge.grading.api import load_grader
    from edge.grading.errors import ModelUnavailable
    from gongfang import wire

    try:
        prod = wire.Product(product)
    except ValueError:
        typer.echo(f"未知产品 unknown product {product!r}: strawberry | ruoye", err=True)
        raise typer.Exit(2) from None
    files = expand(paths)
    if not files:
        typer.echo("没有图片 no images given", err=True)
        raise typer.Exit(2)
    try:
        grader = load_grader(prod)
    except ModelUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if annotate is not None:
        annotate.mkdir(parents=True, exist_ok=True)
    show_progress = len(files) > 5 and sys.stderr.isatty() or len(files) > 50
    readable = 0
    for n, path in enumerate(files, 1):
        res, drawn = grader.grade_path_annotated(path, single=single, annotate=annotate is not None)
        if "error" not in res:
            readable += 1
        if drawn is not None and annotate is not None:
            out = annotate / f"{path.stem}.annotated.png"
            if not cv2.imwrite(str(out), drawn):
                typer.echo(f"标注图写入失败 could not write {out}", err=True)
        typer.echo(json.dumps(res, ensure_ascii=False, indent=None if jsonl else 2))
        if show_progress and (n % 25 == 0 or n == len(files)):
            typer.echo(f"[{n}/{len(files)}] graded", err=True)
    if readable == 0:
        typer.echo("没有可读的图片 no file could be read", err=True)
        raise typer.Exit(2)
