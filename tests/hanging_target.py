from faulty_targets import HANGS as TARGET  # noqa: F401
