"""Train the shipped digits classifier (mobilekit/zoo/digits_cnn.py) and save its weights.

    python examples/digits/train.py            # ~1 min on 2 CPU cores

Data: scikit-learn's digits rendered to 32×32 RGB (mobilekit/zoo/digits_data.py), 80/20 split
fixed by seed. Writes mobilekit/zoo/digits_cnn.safetensors and digits_labels.txt and prints
held-out accuracy.
"""

from __future__ import annotations

import torch
from safetensors.torch import save_file
from torch import nn

from mobilekit.zoo import digits_cnn, digits_data


def main(epochs: int = 40, seed: int = 0) -> float:
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    train_px, train_y, hold_px, hold_y = digits_data.load_split()
    x = torch.from_numpy(digits_data.preprocess(train_px))
    y = torch.from_numpy(train_y)
    xh = torch.from_numpy(digits_data.preprocess(hold_px))
    yh = torch.from_numpy(hold_y)

    model = digits_cnn.DigitsCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(x) + 63) // 64))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i : i + 64]
            xb = x[b]
            # light augmentation: shifts of up to 2 pixels, as a camera crop would give
            dx, dy = torch.randint(-2, 3, (2,)).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = loss_fn(model(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.3f} held-out top-1 {accuracy(model, xh, yh):.4f}")
    acc = accuracy(model, xh, yh)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(digits_cnn.WEIGHTS))
    digits_cnn.LABELS.write_text("".join(f"{d}\n" for d in range(10)))
    print(f"held-out top-1: {acc:.4f} on {len(yh)} images; weights: {digits_cnn.WEIGHTS}")
    return acc


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(1) == y).float().mean().item()


if __name__ == "__main__":
    main()
