"""The command line: parse, call the API, map errors to exit codes. No logic lives here.

Exit codes: 0 success; 1 a conversion, verification or budget check failed; 2 bad input;
3 a bug in mobilekit.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from ._cli_support import _handle_errors, _progress, cwd_path, cwd_source

# Commands that live in their own modules: imported when run, so `mobilekit --help` stays light.
# name → (module, attribute, its short help for --help; a test checks it is the command's own)
LAZY_COMMANDS = {
    "bench": (".cli_bench", "bench", "Benchmark a bundle on this host, import device results, or generate device harnesses."),
    "debug": (".cli_debug", "debug", "Compare each artifact layer by layer with the torch model: where does it lose accuracy?"),
    "doctor": (".doctor", "command", "Installed converter/runtime versions against the declared ranges; what this host can do."),
    "report": (".cli_bench", "report", "Write BUNDLE/report.md and a self-contained BUNDLE/report.html with plots."),
    "sweep": (".cli_sweep", "sweep", "Export, verify and time every compression candidate of [sweep]; write the Pareto frontier."),
}


class LazyGroup(click.Group):
    """A group whose LAZY_COMMANDS are imported on first use, not to list them."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            module, attr, _ = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module, __package__), attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if cmd is None:
                rows.append((name, click.utils.make_default_short_help(LAZY_COMMANDS[name][2], limit)))
            elif not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _json(value) -> str:
    import json

    return json.dumps(value, indent=2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mobilekit")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """Export a trained PyTorch model to verified Core ML, TFLite, ONNX and ExecuTorch packages."""


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A mobilekit.toml or pyproject.toml (default: found in the current folder).")
@click.option("--source", help="`pkg.module:factory`, or a .pt2 / TorchScript .pt file.")
@click.option("--weights", help="A state_dict (.pt/.pth) or .safetensors file for the factory's model.")
@click.option("--name", help="The bundle's name (its folder under --output).")
@click.option("--output", "output_dir", help="Where bundles go (default: dist).")
@click.option("--target", "targets", multiple=True, help="A target to export (repeat for several): onnx, tflite, coreml, executorch.")
@click.option("--trust-pickle", is_flag=True, default=None, help="Allow fully unpickling .pt files (trusted files only).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON on stdout.")
@click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False), help="Write each artifact's checks as JUnit XML.")
@click.option("--force", is_flag=True, help="Convert every target again, even when unchanged since the last bundle.")
@_handle_errors
def export(config_path, source, weights, name, output_dir, targets, trust_pickle, as_json, junit_xml, force) -> None:
    """Export the model in the config to a bundle, verifying every artifact."""
    from .api import export as run
    from .errors import CheckError
    from .pipeline import ExportFailed

    overrides = {"source": cwd_source(source), "weights": cwd_path(weights), "name": name, "output_dir": cwd_path(output_dir),
                 "targets": list(targets) or None, "trust_pickle": trust_pickle}
    progress = _progress(as_json)
    try:
        bundle = run(config=config_path, progress=progress, force=force, **overrides)
    except ExportFailed as exc:
        _close(progress)
        _summary(exc.bundle, as_json)
        _junit_export(exc.bundle, junit_xml)
        raise
    except CheckError as exc:  # failed before any bundle existed (e.g. capture): say so, exit 1 stays truthful
        _close(progress)
        exc.message = f"{exc.message.rstrip('.')}; no bundle was written (a previous one, if any, is unchanged)"
        raise
    _close(progress)
    _summary(bundle, as_json)
    _junit_export(bundle, junit_xml)


def _junit_export(bundle, path) -> None:
    if path:
        from . import junit

        junit.write(junit.from_manifest(bundle.manifest), path)


def _close(progress) -> None:
    close = getattr(progress, "close", None)
    if close:
        close()


def _summary(bundle, as_json: bool) -> None:
    from .inspect import summary_lines

    if as_json:
        click.echo(_json(bundle.manifest))
    else:
        for line in summary_lines(bundle):
            click.echo(line)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A mobilekit.toml or pyproject.toml with [compression.distill] (and [compression.prune]).")
@click.option("--source", help="The teacher: `pkg.module:factory` or a TorchScript .pt file.")
@click.option("--weights", help="A state_dict (.pt/.pth) or .safetensors file for the teacher's factory.")
@click.option("--student", help="`pkg.module:factory` for the student (default: the teacher pruned as [compression.prune] says).")
@click.option("--epochs", type=int, help="Training epochs (overrides compression.distill.epochs).")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="Where to save the student (.pt2).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
@_handle_errors
def distill(config_path, source, weights, student, epochs, out, as_json) -> None:
    """Prune and distill the teacher into a student .pt2 (export it afterwards)."""
    from .api import distill as run

    overrides = {"source": cwd_source(source), "weights": cwd_path(weights)}
    comp = {k: v for k, v in (("student", student), ("epochs", epochs)) if v is not None}
    if comp:
        overrides["compression"] = {"distill": comp}
    result = run(out, config=config_path, progress=not as_json, **overrides)
    if as_json:
        click.echo(_json(result.to_dict()))
        return
    r = result.to_dict()
    if "prune" in r:
        p = r["prune"]
        click.echo(f"pruned {p['method']} {p['amount']}: params ×{p['params_ratio']:.3f}, MACs ×{p['macs_ratio']:.3f}")
    if r["student_top1"] is not None:
        click.echo(f"top-1: teacher {r['teacher_top1']:.4f}, student before {r['student_top1_before']:.4f}, "
                   f"after {r['student_top1']:.4f} (drop {r['top1_drop'] * 100:.2f} points)")
    click.echo(f"student saved to {result.saved_to}; export it with `mobilekit export --source {result.saved_to}`"
               " and a config without [compression.prune]/[compression.distill]")


@main.command()
@click.argument("bundle", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@_handle_errors
def inspect(bundle, as_json) -> None:
    """Summarize a bundle: artifacts, sizes, parity, status."""
    from .bundle import load_bundle
    from .targets.executorch.delegation import inspect_lines

    loaded = load_bundle(bundle, check_files=False)
    _summary(loaded, as_json)
    for line in [] if as_json else inspect_lines(loaded.manifest):  # which ops run in each .pte's delegate
        click.echo(line)


@main.command()
@click.argument("bundle", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False), help="Write each artifact's check as JUnit XML.")
@_handle_errors
def verify(bundle, as_json, junit_xml) -> None:
    """Re-check a bundle: checksums, then each artifact against its golden vectors."""
    from .api import verify_bundle
    from .errors import CheckError

    progress = _progress(as_json)
    try:
        report = verify_bundle(bundle, progress)
    except CheckError as exc:
        if as_json and getattr(exc, "report", None):  # what moved, per artifact, before the one line
            click.echo(_json(exc.report))
        if junit_xml and getattr(exc, "report", None):
            from . import junit

            junit.write(junit.from_verify(str(bundle), exc.report), junit_xml)
        raise
    finally:
        _close(progress)
    if junit_xml:
        from . import junit

        junit.write(junit.from_verify(str(bundle), report), junit_xml)
    if as_json:
        click.echo(_json(report))
    else:
        for label, r in report.items():
            if "max_abs" in r:
                detail = f"SNR {r['snr_db']:.1f} dB, max abs {r['max_abs']:.3g}" if "snr_db" in r else f"max abs {r['max_abs']:.3g}"
            elif "matched" in r:  # translation: golden sentences decoded again
                detail = f"{r['matched']}/{r['samples']} judged sentences match torch"
            else:
                detail = r.get("reason", "")
            click.echo(f"{label:28s} {r['status']:8s} {detail}")


@main.command()
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Read thresholds from its [diff] table.")
@click.option("--max-size-growth", type=float, help="Fail when an artifact grows by more than this fraction (0.1 = 10%).")
@click.option("--max-metric-drop", type=float, help="Fail when top-1 drops by more than this many points.")
@click.option("--max-latency-growth", type=float, help="Fail when host p50 grows by more than this fraction.")
@click.option("--max-parity-growth", type=float, help="Fail when max abs error grows by more than this factor.")
@click.option("--json", "as_json", is_flag=True, help="Print rows and broken thresholds as JSON.")
@_handle_errors
def diff(old, new, config_path, max_size_growth, max_metric_drop, max_latency_growth, max_parity_growth, as_json) -> None:
    """Compare two bundles artifact by artifact; exit 1 when a change passes a threshold."""
    from . import _validate, config as config_mod
    from .bundle import load_bundle
    from .diff import DiffThresholds, compare, lines
    from .errors import CheckError

    raw = config_mod.load(config_path).get("diff", {}) if config_path or _has_config() else {}
    flags = {"max_size_growth": max_size_growth, "max_metric_drop": max_metric_drop,
             "max_latency_growth": max_latency_growth, "max_parity_growth": max_parity_growth}
    limits = _validate.build(DiffThresholds, config_mod.merge(raw, flags), "diff")
    rows, broken = compare(load_bundle(old, check_files=False), load_bundle(new, check_files=False), limits)
    if as_json:
        click.echo(_json({"rows": rows, "broken": broken}))
    else:
        for line in lines(rows):
            click.echo(line)
    if broken:
        err = CheckError(f"{len(broken)} change(s) past the thresholds")
        err.lines = broken  # type: ignore[attr-defined]
        raise err


@main.command()
@click.argument("platform", type=click.Choice(["android", "ios"]))
@click.option("--bundle", "bundle_path", required=True, type=click.Path(), help="The bundle folder (e.g. dist/digits).")
@click.option("--app", type=click.Path(file_okay=False), help="The app folder (default: android_demo or ios_demo).")
@_handle_errors
def scaffold(platform, bundle_path, app) -> None:
    """Put a bundle's manifest, assets and artifacts where the demo app reads them."""
    from .scaffold import scaffold as run

    done = run(platform, bundle_path, app)
    click.echo(f"{len(done.files)} files → {done.path}")
    for line in done.skipped:
        click.echo(f"  skipped {line}")


def _has_config() -> bool:
    from pathlib import Path

    return Path("mobilekit.toml").exists() or Path("pyproject.toml").exists()


@main.command()
@click.option("--name", help="The model's name (the bundle folder).")
@click.option("--factory", help="`pkg.module:function` that returns the nn.Module.")
@click.option("--input-shape", help="The example input shape, e.g. 1,3,224,224.")
@click.option("--task", type=click.Choice(["image_classification", "translation", "generic"]), default="image_classification", show_default=True)
@click.option("--target", "targets", multiple=True, help="A registered target (onnx, tflite, coreml, executorch); repeat for "
                                                          "several (default: onnx, tflite, coreml).")
@click.option("--labels", help="A labels file, one label a line.")
@click.option("--weights", help="A state_dict / .safetensors file for the factory's model.")
@click.option("--config-file", type=click.Choice(["pyproject", "toml"]), default="pyproject", show_default=True,
              help="Write [tool.mobilekit] into pyproject.toml, or a mobilekit.toml.")
@click.option("--force", is_flag=True, help="Replace an existing config section or workflow.")
@_handle_errors
def init(name, factory, input_shape, task, targets, labels, weights, config_file, force) -> None:
    """Set up a model repo: a commented config and a GitHub Actions workflow."""
    from pathlib import Path

    from .errors import UserError
    from .init import DEFAULT_TARGETS, InitAnswers, init as run

    def ask(value, flag, prompt):
        if value:
            return value
        if sys.stdin.isatty():
            return click.prompt(prompt)
        raise UserError(f"{flag} is required when not run interactively", hint=f"Pass {flag}.")

    name = ask(name, "--name", "Model name")
    factory = ask(factory, "--factory", "Factory (pkg.module:function)")
    shape_text = ask(input_shape, "--input-shape", "Input shape (e.g. 1,3,224,224)")
    try:
        shape = [int(d) for d in shape_text.replace("x", ",").split(",") if d.strip()]
    except ValueError:
        raise UserError(f"--input-shape {shape_text!r} is not a list of integers", hint="Write it like 1,3,224,224.") from None
    answers = InitAnswers(name=name, factory=factory, input_shape=shape, task=task,
                          targets=list(targets or DEFAULT_TARGETS), labels=labels, weights=weights)
    for path in run(Path.cwd(), answers, config_file=config_file, force=force):
        click.echo(f"wrote {path}")



if __name__ == "__main__":  # pragma: no cover
    main()
