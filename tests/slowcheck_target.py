from faulty_targets import SLOWCHECK as TARGET  # noqa: F401
