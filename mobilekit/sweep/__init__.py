"""`mobilekit sweep`: export, verify and time many compression candidates, keep the Pareto frontier.

space.py (the [sweep] section, candidates) · trial.py (one candidate, in its own process) ·
executors.py (local pool, Ray) · pareto.py (frontier, pick rule) · run.py (the driver, cache,
results.json) · plot.py (the PNG). Nothing heavy is imported here.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    """`mobilekit.sweep(...)` is the API call and `mobilekit.sweep` the package: config.py imports
    `mobilekit.sweep.space`, which binds the package to that name, so the package itself runs."""

    def __call__(self, *args, **kwargs):
        from .run import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
