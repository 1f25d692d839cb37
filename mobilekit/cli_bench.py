"""The `bench` and `report` commands (registered on `mobilekit.cli.main`).

    mobilekit bench BUNDLE [--threads N --runs N --warmup N --only T[/V] --json]
    mobilekit bench import BUNDLE RESULTS...
    mobilekit bench harness BUNDLE [--platform android|ios]
    mobilekit report BUNDLE [--sweep SWEEP_DIR] [--json]
    mobilekit report SWEEP_DIR [--json]

Thin: parse, call mobilekit.bench / mobilekit.report, print. Errors are mapped to exit codes by
`mobilekit._cli_support._handle_errors` (2 bad input or bundle, 1 a benchmark failed, 3 a bug).
"""

from __future__ import annotations

import json
import sys

import click

from ._cli_support import _handle_errors


class _DefaultToRun(click.Group):
    """`mobilekit bench BUNDLE …` means `mobilekit bench run BUNDLE …`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _bar(as_json: bool):
    from .bench import host

    if as_json:
        return host.SilentBar()
    if sys.stderr.isatty():
        return host.RichBar()
    return host.PlainBar()


@click.group(cls=_DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Benchmark a bundle on this host, import device results, or generate device harnesses.

    \b
      mobilekit bench BUNDLE [--threads N] [--runs N] [--warmup N] [--json]
      mobilekit bench import BUNDLE RESULTS.json...
      mobilekit bench harness BUNDLE
    """


@bench.command("run")
@click.argument("bundle", type=click.Path())
@click.option("--threads", type=int, default=None, help="Runtime threads (default: min(4, CPU count)).")
@click.option("--runs", type=int, default=50, show_default=True, help="Measured runs per artifact.")
@click.option("--warmup", type=int, default=5, show_default=True, help="Warm-up runs (not recorded), after the first inference.")
@click.option("--only", multiple=True, help="Only this target or target/variant (repeat for several).")
@click.option("--litert-delegate", "litert_delegates", multiple=True, type=click.Choice(["xnnpack", "none"]),
              help="TFLite on LiteRT with XNNPACK (default) or its built-in kernels only (repeat for both).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@_handle_errors
def run_cmd(bundle, threads, runs, warmup, only, litert_delegates, as_json) -> None:
    """Benchmark every artifact this host can run; results go to BUNDLE/bench/*.json."""
    from .bench import host
    from .errors import CheckError

    bar = _bar(as_json)
    try:
        result = host.bench(bundle, threads=threads, runs=runs, warmup=warmup, only=tuple(only),
                            litert_delegates=tuple(litert_delegates) or ("xnnpack",), progress=bar)
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(result.results, indent=2))
    else:
        for line in host.summary_lines(result):
            click.echo(line)
        if result.files:
            click.echo(f"{len(result.files)} result(s) written to {result.files[0].parent}")
    if result.failed:
        lines = [f"{d['model']['target']}/{d['model']['variant']}: {d['error']}" for d in result.failed]
        raise CheckError(f"{len(result.failed)} benchmark(s) failed: " + "; ".join(lines))


@bench.command("import")
@click.argument("bundle", type=click.Path())
@click.argument("results", nargs=-1, required=True, type=click.Path())
@_handle_errors
def import_cmd(bundle, results) -> None:
    """Check device results (JSON, xcodebuild or benchmark_model logs) and add them to BUNDLE/bench/."""
    from .bench.importer import import_results

    written = import_results(bundle, list(results))
    for p in written:
        click.echo(f"imported {p.parent.name}/{p.name}")
    click.echo(f"{len(written)} result(s) imported; `mobilekit report {bundle}` includes them")


@bench.command("harness")
@click.argument("bundle", type=click.Path())
@click.option("--platform", "platforms", multiple=True, type=click.Choice(["android", "ios"]),
              help="Only this platform (default: both).")
@_handle_errors
def harness_cmd(bundle, platforms) -> None:
    """Generate the Android and iOS benchmark harnesses into BUNDLE/harness/."""
    from .bench.harness import PLATFORMS, generate

    for p in generate(bundle, platforms=tuple(platforms) or PLATFORMS):
        click.echo(f"wrote {p} (see its README.md)")


@click.command()
@click.argument("bundle", type=click.Path())
@click.option("--sweep", "sweep_dir", type=click.Path(file_okay=False),
              help="Add this `mobilekit sweep` folder's trials, frontiers and pick to the report.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@_handle_errors
def report(bundle, sweep_dir, as_json) -> None:
    """Write BUNDLE/report.md and a self-contained BUNDLE/report.html with plots.

    BUNDLE may also be a sweep folder (results.json): its own report.md/report.html are rewritten.
    """
    from .report_sweep import is_sweep_folder, write_sweep_report

    if is_sweep_folder(bundle) and sweep_dir is None:
        sr = write_sweep_report(bundle)
        if as_json:
            click.echo(json.dumps({"md": str(sr.md), "html": str(sr.html), "images": [str(p) for p in sr.images],
                                   "sweep_trials": sr.trials}, indent=2))
        else:
            click.echo(f"wrote {sr.md} and {sr.html} ({len(sr.images)} plot(s), {sr.trials} trial(s))")
        return
    from .report import write_report

    r = write_report(bundle, sweep=sweep_dir)
    if as_json:
        click.echo(json.dumps({"md": str(r.md), "html": str(r.html), "images": [str(p) for p in r.images],
                               "results": r.results, "ignored": r.ignored, "sweep_trials": r.sweep_trials}, indent=2))
        return
    for line in r.ignored:
        click.echo(f"warning: ignored bench/{line}", err=True)
    trials = f", {r.sweep_trials} sweep trial(s)" if sweep_dir is not None else ""
    click.echo(f"wrote {r.md} and {r.html} ({len(r.images)} plot(s), {r.results} benchmark result(s){trials})")
