"""The `debug` command (registered on `mobilekit.cli.main`).

    mobilekit debug BUNDLE [--config F] [--artifact onnx/int8 ...] [--data REF] [--samples N]
                    [--json] [--overlay DIR]

Thin: parse, call mobilekit.api.debug, print the table (or JSON). A diagnosis, not a check: it
exits 0 when it ran, whatever it found; bad input exits 2.
"""

from __future__ import annotations

import json

import click

from ._cli_support import _handle_errors, cwd_path, cwd_source


@click.command("debug")
@click.argument("bundle", type=click.Path())
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="The config the bundle was exported with (default: found in the current folder).")
@click.option("--artifact", "artifacts", multiple=True, help="target/variant to compare, e.g. onnx/int8 (repeat; default: all).")
@click.option("--data", help="Inputs to compare on: .npy/.npz, image folder or pkg.module:callable (default: the bundle's golden inputs).")
@click.option("--samples", type=int, default=8, show_default=True, help="How many inputs to run.")
@click.option("--json", "as_json", is_flag=True, help="Print every layer's figures as JSON.")
@click.option("--no-placement", is_flag=True, help="Skip the op-placement estimates (TFLite Analyzer, ORT usability checker).")
@click.option("--overlay", "overlay_dir", type=click.Path(file_okay=False),
              help="Write a Model Explorer node-data file per artifact into this folder.")
@_handle_errors
def debug(bundle, config_path, artifacts, data, samples, as_json, no_placement, overlay_dir) -> None:
    """Compare each artifact layer by layer with the torch model: where does it lose accuracy?"""
    from pathlib import Path

    from .api import debug as run
    from .debug.render import table, write_overlays

    result = run(bundle, config=config_path, artifacts=list(artifacts) or None, data=cwd_source(data), samples=samples,
                 placement=not no_placement)
    if overlay_dir:
        result["overlays"] = [str(p) for p in write_overlays(result, Path(cwd_path(overlay_dir)))]
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    for line in table(result):
        click.echo(line)
    for path in result.get("overlays", []):
        click.echo(f"Model Explorer overlay: {path}")
