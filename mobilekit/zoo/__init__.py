"""Reference architectures written in-repo (torchvision/timm do not import with torch 2.13).

`digits_cnn` is the shipped, trained demo classifier; `mobilenet_v2` is an untrained
MobileNetV2-style net for size and speed work. Both import torch, so import them lazily.
"""
