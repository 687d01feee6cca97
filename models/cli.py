"""``gongfang train`` and ``gongfang evaluate``.

Only Typer at module level: torch (train) and onnxruntime (evaluate) load inside the commands.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

TRAIN_EXTRA_HINT = (
    "训练需要 train 扩展包，请运行 pip install 'gongfang[train]'\n"
    "Training needs the train extra: pip install 'gongfang[train]'"
)


class TrainProduct(StrEnum):
    """Products with a trainable model."""

    strawberry = "strawberry"
    ruoye = "ruoye"


class EvalProduct(StrEnum):
    """Products ``evaluate`` can score on a labelled folder."""

    strawberry = "strawberry"


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        typer.echo(TRAIN_EXTRA_HINT, err=True)
        raise typer.Exit(2) from None


def train(
    product: Annotated[TrainProduct, typer.Argument(help="strawberry | ruoye")],
    seed: Annotated[int, typer.Option(help="随机种子 split/augmentation seed")] = 0,
    data: Annotated[
        Path | None,
        typer.Option(help="照片目录 data dir (default $GONGFANG_DATA or ../shared/data)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="输出目录 output dir (default: the package's model folder)")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="训练轮数 epochs (default: the recipe's)")
    ] = None,
    threads: Annotated[
        int,
        typer.Option(help="CPU 线程数 torch threads (2 reproduces the shipped strawberry model)"),
    ] = 2,
) -> None:
    """重新训练分级模型 Retrain a grader from the photos (needs the ``train`` extra)."""
    _require_torch()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[msg]}"),
    ) as bar:
        task = bar.add_task(f"train {product.value}", total=None, msg="")

        def progress(done: int, total: int, msg: str) -> None:
            bar.update(task, completed=done, total=total, msg=msg)

        if product is TrainProduct.strawberry:
            meta = _train_strawberry(seed, data, out, epochs, threads, progress)
        else:
            meta = _train_ruoye(seed, out, epochs, progress)
    typer.echo(json.dumps(_brief(meta), ensure_ascii=False, indent=1))


def _train_strawberry(
    seed: int,
    data: Path | None,
    out: Path | None,
    epochs: int | None,
    threads: int,
    progress: Any,
) -> dict[str, Any]:
    from models.strawberry.dataset import DataMissingError
    from models.strawberry.train import train as train_strawberry

    try:
        return train_strawberry(
            seed=seed, data_dir=data, out_dir=out, epochs=epochs, progress=progress, threads=threads
        )
    except DataMissingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _train_ruoye(seed: int, out: Path | None, epochs: int | None, progress: Any) -> dict[str, Any]:
    import importlib

    try:
        # written by the leaf-model work; imported lazily so a missing module is a clear error
        train_ruoye = importlib.import_module("models.ruoye.train").train
    except (ImportError, AttributeError) as exc:
        typer.echo(f"箬叶训练模块缺失 models.ruoye.train is missing or broken ({exc})", err=True)
        raise typer.Exit(2) from None
    kwargs: dict[str, Any] = {"seed": seed, "out_dir": out, "progress": progress}
    if epochs is not None:
        kwargs["epochs"] = epochs
    result: Any = train_ruoye(**kwargs)
    return result if isinstance(result, dict) else {"result": str(result)}


def _brief(meta: dict[str, Any]) -> dict[str, Any]:
    keep = ("name", "version", "test_metrics", "training")
    out = {k: meta[k] for k in keep if k in meta}
    for m in out.get("test_metrics", {}).values():
        if isinstance(m, dict):
            m.pop("confusion", None)
    return out or meta


def evaluate(
    product: Annotated[EvalProduct, typer.Argument(help="strawberry")],
    data: Annotated[
        Path,
        typer.Option(
            help="带标签的照片目录 labelled folder: sub-folders per label "
            "(unripe/turning/ripe/defect; riseholme names ripe/unripe/anomalous/occluded) "
            "or a labels.csv with file,label (brix-ripeness layout)",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON print JSON")] = False,
) -> None:
    """打印已发布模型在带标签照片上的指标 Print the shipped model's metrics on a labelled folder."""
    from models.strawberry.evaluate import FolderLayoutError, evaluate_folder

    if not data.is_dir():
        typer.echo(f"目录不存在 not a folder: {data}", err=True)
        raise typer.Exit(2)
    try:
        m = evaluate_folder(data)
    except FolderLayoutError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(m, ensure_ascii=False, indent=1))
        return
    _print_metrics(m)


def _print_metrics(m: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    a = m["all"]
    con.print(f"模型 model: {m['model']['name']} {m['model']['version']}   照片 photos: {a['n']}")
    con.print(f"平衡准确率 balanced accuracy: [bold]{a['balanced_accuracy']:.3f}[/bold]")
    d = m["defect"]
    if d["support"] or d["precision"]:
        con.print(f"缺陷 defect: recall {d['recall']:.3f}  precision {d['precision']:.3f}")
    tab = Table("label", "recall", "precision", "support")
    for lab, v in a["per_class"].items():
        tab.add_row(lab, f"{v['recall']:.3f}", f"{v['precision']:.3f}", str(v["support"]))
    con.print(tab)
    labels = m["labels"]
    cm = Table("true \\ predicted", *labels)
    for lab, row in zip(labels, a["confusion"], strict=True):
        if sum(row):
            cm.add_row(lab, *(str(c) for c in row))
    con.print(cm)
    if "occluded" in m:
        o = m["occluded"]
        con.print(f"occluded: {o['n']}, 判为缺陷 called defect {o['called_defect_fraction']:.3f}")
    for note in m.get("notes", []):
        con.print(f"[yellow]{note}[/yellow]")
