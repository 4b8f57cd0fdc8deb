"""`enhance-image IN OUT`: enhance one image, or every image of a folder, at full resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gan.cli import run_app
from gan.errors import UserError, exit_on_error
from streamer.cli import common
from streamer.images import check_image_suffix, image_files, read_image, write_image
from streamer.inference import create_enhancer

app = common.make_app("Enhance low-light images with the same engine as enhance-video.")


def plan_jobs(input_path: Path, output_path: Path, *, overwrite: bool) -> list[tuple[Path, Path]]:
    """(input, output) pairs, every check done before any work.

    A file gives one pair; a folder gives one per image, written under the same
    names into the output folder (created if its parent exists).
    """
    if not input_path.exists():
        raise UserError(f"input not found: {input_path}")
    if input_path.is_file():
        check_image_suffix(output_path)
        common.check_output_file(input_path, output_path, overwrite=overwrite)
        return [(input_path, output_path)]
    images = image_files(input_path)
    if not images:
        raise UserError(f"no images in {input_path}")
    common.check_output_folder(output_path, [image.name for image in images], inputs=[input_path],
                               overwrite=overwrite)
    return [(image, output_path / image.name) for image in images]


@app.command()
def enhance_image(
    input_path: Annotated[Path, typer.Argument(metavar="IN", help="Image file or folder.")],
    output_path: Annotated[Path, typer.Argument(metavar="OUT", help="Output file or folder.")],
    mode: common.ModeOption = "quality",
    exposure: common.ExposureOption = 0.0,
    model: common.ModelOption = None,
    batch_size: common.BatchOption = common.DEFAULTS.batch_size,
    tile: common.TileOption = common.DEFAULTS.tile,
    overlap: common.OverlapOption = common.DEFAULTS.overlap,
    precision: common.PrecisionOption = "auto",
    overwrite: common.OverwriteOption = False,
    quiet: common.QuietOption = False,
) -> None:
    """Enhance IN (an image or a folder of images) into OUT."""
    with exit_on_error():
        options = common.enhance_options(tile=tile, overlap=overlap, batch_size=batch_size,
                                         mode=mode, exposure=exposure)
        jobs = plan_jobs(input_path, output_path, overwrite=overwrite)
        enhancer = create_enhancer(common.load_model(model, precision), options)
        if input_path.is_dir():
            output_path.mkdir(exist_ok=True)
        console = Console(quiet=quiet, highlight=False)
        for number, (source, target) in enumerate(jobs, start=1):
            write_image(target, enhancer.enhance([read_image(source)])[0])
            console.print(f"[{number}/{len(jobs)}] {source} → {target}")


def main() -> None:
    """Console-script entry point."""
    run_app(app, "enhance-image")


if __name__ == "__main__":
    main()
