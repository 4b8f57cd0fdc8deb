"""A "model soup": the uniform average of the weights of generators fine-tuned from one model.

Wortsman et al., "Model soups" (ICML 2022): fine-tunes of one starting point stay in one
basin of the loss, so their average is a model in its own right and often better than each,
at no extra inference cost. The shipped model is one: the base run and two fine-tunes of it
(README, "The shipped model's figures"). Every weight is averaged, BatchNormalization's
moving statistics included; the models must share their architecture.

    python -m gan.soup OUT.keras BASE.keras FINETUNE.keras [...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from gan.backend import keras
from gan.cli import run_app
from gan.errors import UserError, exit_on_error
from gan.model_io import load_generator, save_generator


def average_generators(models: list[keras.Model]) -> keras.Model:
    """A copy of the first model with every weight the mean of all the models' (float64
    accumulation). `UserError` unless they have the same weights' shapes."""
    if not models:
        raise UserError("nothing to average: give at least one model")
    shapes = [[w.shape for w in m.get_weights()] for m in models]
    for number, shape in enumerate(shapes[1:], start=2):
        if shape != shapes[0]:
            raise UserError(f"generator {number} has another architecture than the first: only "
                            "fine-tunes of one model can be averaged")
    weights = [m.get_weights() for m in models]
    mean = [np.mean([np.asarray(w[i], np.float64) for w in weights], axis=0).astype(first.dtype)
            for i, first in enumerate(weights[0])]
    soup = keras.models.clone_model(models[0])
    soup.set_weights(mean)
    return soup


def main(
    out: Annotated[Path, typer.Argument(help="The averaged generator (.keras) to write.")],
    models: Annotated[list[Path], typer.Argument(help="Generators (.keras) to average.")],
) -> None:
    with exit_on_error():
        if out.resolve() in {m.resolve() for m in models}:
            raise UserError(f"output {out} is one of the inputs: choose another name")
        # Unfolded: BatchNormalization's statistics are averaged as weights like any other.
        save_generator(average_generators([load_generator(m, fold=False) for m in models]), out)
    print(f"wrote {out} (the mean of {len(models)} generators)")


app = typer.Typer(add_completion=False)
app.command()(main)

if __name__ == "__main__":
    run_app(app, "python -m gan.soup")
