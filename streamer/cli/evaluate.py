"""`evaluate DATA`: PSNR and SSIM of the enhanced `low/` images against `high/`.

Images go through the same enhancer as videos (`--mode quality`, the tiled `FrameEnhancer`,
or `--mode realtime`), in float32 by default, so the scores measure what users get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gan.cli import run_app
from gan.data import find_pairs
from gan.errors import UserError, exit_on_error
from gan.metrics import psnr_ssim
from streamer.cli import common
from streamer.images import read_image, write_image
from streamer.inference import create_enhancer

app = common.make_app("Score the model on paired low/high images (PSNR, SSIM).")


@app.command()
def evaluate(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Folder with low/ and high/.")],
    mode: common.ModeOption = "quality",
    model: common.ModelOption = None,
    save: Annotated[Path | None, typer.Option(help="Also write the enhanced images here.")] = None,
    batch_size: common.BatchOption = common.DEFAULTS.batch_size,
    tile: common.TileOption = common.DEFAULTS.tile,
    overlap: common.OverlapOption = common.DEFAULTS.overlap,
    precision: common.PrecisionOption = "float32",
    overwrite: common.OverwriteOption = False,
) -> None:
    """Print PSNR (dB) and SSIM per image and their means."""
    with exit_on_error():
        options = common.enhance_options(tile=tile, overlap=overlap, batch_size=batch_size,
                                         mode=mode)
        pairs = find_pairs(data)
        if save is not None:
            common.check_output_folder(save, [f"{low.stem}.png" for low, _ in pairs],
                                       inputs={path.parent for pair in pairs for path in pair},
                                       overwrite=overwrite)
            save.mkdir(exist_ok=True)
        enhancer = create_enhancer(common.load_model(model, precision), options)
        table = Table(title=f"{data} ({len(pairs)} images, {mode} mode)")
        for column in ("image", "PSNR (dB)", "SSIM"):
            table.add_column(column, justify="left" if column == "image" else "right")
        scores = []
        for low, high in pairs:
            reference, dark = read_image(high), read_image(low)
            if reference.shape != dark.shape:
                raise UserError(f"{low} is {dark.shape[1]}x{dark.shape[0]} but {high} is "
                                f"{reference.shape[1]}x{reference.shape[0]}")
            output = enhancer.enhance([dark])[0]
            if save is not None:
                write_image(save / f"{low.stem}.png", output)
            scores.append(psnr_ssim(reference, output))
            table.add_row(low.name, f"{scores[-1][0]:.2f}", f"{scores[-1][1]:.4f}")
        mean_psnr = sum(s[0] for s in scores) / len(scores)
        mean_ssim = sum(s[1] for s in scores) / len(scores)
        table.add_section()
        table.add_row("mean", f"{mean_psnr:.2f}", f"{mean_ssim:.4f}", style="bold")
        Console(highlight=False).print(table)


def main() -> None:
    """Console-script entry point."""
    run_app(app, "evaluate")


if __name__ == "__main__":
    main()
