"""The trained digits CNN with outlier channels: the shipped case where plain int8 really breaks.

Trained nets grow a few channels whose activations are orders of magnitude larger than the rest
(a known cause of int8 failure: one per-tensor activation scale has to cover them, and every
other channel is left with a few levels). This model makes that happen on purpose, without
changing what it computes: in the first block two channels' BatchNorm scale and shift are
multiplied by OUTLIER_SCALE and the next conv's weights for those channels divided by it
(ReLU and max-pooling commute with a positive scale), so float outputs equal the digits CNN's
to float rounding while the activations after the first block carry outliers.
"""

from __future__ import annotations

import torch

from .digits_cnn import DigitsCNN, trained

OUTLIER_SCALE = 128.0
# (index in `features` of the block whose output gets outliers, of the block whose conv reads them, channels)
OUTLIERS = ((0, 2, (3, 11)),)


@torch.no_grad()
def build() -> DigitsCNN:
    model = trained()
    for block, reader, channels in OUTLIERS:
        bn = model.features[block][1]
        conv = model.features[reader][0]
        for c in channels:
            bn.weight[c] *= OUTLIER_SCALE
            bn.bias[c] *= OUTLIER_SCALE
            conv.weight[:, c] /= OUTLIER_SCALE
    return model.eval()
