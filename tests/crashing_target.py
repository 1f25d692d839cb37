from faulty_targets import SEGFAULTS as TARGET  # noqa: F401
