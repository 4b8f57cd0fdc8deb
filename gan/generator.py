"""The generator: the seed's encoder–decoder with U-Net skips and a residual output.

Fully convolutional: any tile whose sides are multiples of `2 ** levels` works (the engine
uses multiples of 8, `gan.data.SIZE_MULTIPLE`). Pixels are RGB in
[-1, 1], in and out. The output is the input nudged in tanh's pre-activation space,
so an untrained generator starts as the identity on exposure-normalised frames.
"""

from __future__ import annotations

from gan.backend import keras
from gan.data import MAX_LEVELS

layers = keras.layers
ops = keras.ops


@keras.saving.register_keras_serializable(package="lowlight")
class ResidualTanh(layers.Layer):
    """`tanh(atanh(x) + delta)`: a residual that stays inside [-1, 1] without clipping."""

    def call(self, inputs):
        x, delta = inputs
        x = ops.clip(ops.cast(x, delta.dtype), -0.995, 0.995)
        return ops.tanh(0.5 * ops.log((1.0 + x) / (1.0 - x)) + delta)


def _conv_bn_act(x, filters: int, *, strides: int = 1, dilation: int = 1, name: str):
    x = layers.Conv2D(filters, 3, strides=strides, dilation_rate=dilation, padding="same",
                      use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def _res_block(x, filters: int, *, dilation: int, name: str):
    y = _conv_bn_act(x, filters, dilation=dilation, name=f"{name}_a")
    y = layers.Conv2D(filters, 3, dilation_rate=dilation, padding="same", use_bias=False,
                      name=f"{name}_b_conv")(y)
    y = layers.BatchNormalization(name=f"{name}_b_bn")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _up(x, skip, filters: int, *, name: str):
    x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False,
                               name=f"{name}_convT")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_act")(x)
    x = layers.Concatenate(name=f"{name}_skip")([x, skip])
    return _conv_bn_act(x, filters, name=f"{name}_fuse")


def check_architecture(*, width: int, levels: int, res_blocks: int) -> None:
    """`ValueError` unless `build_generator` can build this shape."""
    if width < 1 or res_blocks < 0 or not 1 <= levels <= MAX_LEVELS:
        raise ValueError(f"`width` must be >= 1, `levels` 1 to {MAX_LEVELS} and `res_blocks` "
                         f">= 0. Received: {width}, {levels}, {res_blocks}")


def build_generator(*, width: int = 32, res_blocks: int = 2, levels: int = 2,
                    name: str = "generator") -> keras.Model:
    """Conv(w) → Conv(2w, /2) → Conv(4w, /2) → res blocks → ConvT(2w) → ConvT(w) → RGB
    (for 2 levels; each further level adds one more halving and doubling).

    Args:
        width: channels of the first level (64 = the seed's size).
        res_blocks: dilated residual blocks at the lowest resolution (dilations 1, 2, 4, ...),
            which widen the receptive field cheaply.
        levels: stride-2 steps down (2 = the seed's 1/4 bottleneck; 3 sees 2× the context).
            Tiles must then be multiples of `2 ** levels`.
    """
    check_architecture(width=width, levels=levels, res_blocks=res_blocks)
    inputs = keras.Input(shape=(None, None, 3), name="low")
    skips = [_conv_bn_act(inputs, width, name="enc1")]
    for level in range(1, levels):
        skips.append(_conv_bn_act(skips[-1], width * 2**level, strides=2, name=f"enc{level + 1}"))
    x = _conv_bn_act(skips[-1], width * 2**levels, strides=2, name=f"enc{levels + 1}")
    for i in range(res_blocks):
        x = _res_block(x, width * 2**levels, dilation=2 ** (i % 3), name=f"res{i + 1}")
    for level in reversed(range(levels)):
        x = _up(x, skips[level], width * 2**level, name=f"dec{level + 1}")
    delta = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros", dtype="float32",
                          name="delta")(x)
    outputs = ResidualTanh(dtype="float32", name="enhanced")([inputs, delta])
    return keras.Model(inputs, outputs, name=name)


def architecture_of(model: keras.Model) -> dict[str, int]:
    """The `build_generator` arguments that rebuild `model`'s shape: width, levels, res_blocks."""
    names = {layer.name for layer in model.layers}
    levels = sum(1 for n in names if n.startswith("enc") and n.endswith("_conv")) - 1
    res_blocks = sum(1 for n in names if n.startswith("res") and n.endswith("_add"))
    return {"width": int(model.get_layer("enc1_conv").filters), "levels": levels,
            "res_blocks": res_blocks}
