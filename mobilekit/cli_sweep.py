"""The `sweep` command (registered on `mobilekit.cli.main`).

    mobilekit sweep [--config F] [--executor local|ray --address auto|host:port] [--workers N]
                    [--sampler grid|random|tpe] [--trials N] [--output DIR] [--retry-failed]
                    [--export-winner] [--json]

Thin: parse, call mobilekit.sweep.run.sweep, print one line per trial and the pick. Errors are
mapped to exit codes by `_handle_errors` (2 bad input, 130 Ctrl-C with the finished trials kept).
"""

from __future__ import annotations

import json

import click

from ._cli_support import _handle_errors


def _line(row: dict, cached: bool) -> str:
    f = row["figures"]
    from .sweep.space import label as label_of

    label = label_of(row["candidate"])
    if row["status"] == "failed":
        return f"  {label:28s} failed: {row.get('error', '')[:160]}  (log {row['log']})"
    size = f"{f['size_bytes'] / 1e3:.1f} kB" if f.get("size_bytes") is not None else "-"
    drop = f"{f['metric_drop_pt']:+.2f} pt" if f.get("metric_drop_pt") is not None else "-"
    lat = f.get("host_p50_ms") if f.get("host_p50_ms") is not None else f.get("verify_p50_ms")
    lat_s = f"{lat:.3f} ms" if lat is not None else "-"
    return f"  {label:28s} {row['status']:10s} drop {drop:>9s}  size {size:>10s}  p50 {lat_s:>10s}" + ("  (cached)" if cached else "")


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="mobilekit.toml / pyproject.toml with a [sweep] section.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default="auto", show_default=True, help="Ray cluster address (auto, host:port or ray://host:port).")
@click.option("--workers", type=click.IntRange(min=1), help="Local executor: trials at a time (default: CPU count).")
@click.option("--sampler", type=click.Choice(["grid", "random", "tpe"]), help="Override sweep.sampler.")
@click.option("--trials", type=click.IntRange(min=1), help="Override sweep.trials (the trial budget).")
@click.option("--output", type=click.Path(file_okay=False), help="Sweep folder (default: sweep.output_dir).")
@click.option("--retry-failed", is_flag=True, help="Run again the trials that failed in an earlier run.")
@click.option("--export-winner", is_flag=True, help="Export the trial the pick rule chooses as the bundle.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of the table.")
@_handle_errors
def sweep(config_path, executor, address, workers, sampler, trials, output, retry_failed, export_winner, as_json) -> None:
    """Export, verify and time every compression candidate of [sweep]; write the Pareto frontier."""
    from .sweep.run import sweep as run

    over = {k: v for k, v in (("sampler", sampler), ("trials", trials)) if v is not None}
    echo = (lambda row, cached: None) if as_json else (lambda row, cached: click.echo(_line(row, cached)))
    res = run(config_path, executor=executor, address=address, workers=workers, output=output,
              retry_failed=retry_failed, export_winner=export_winner, on_trial=echo,
              **({"sweep": over} if over else {}))
    if as_json:
        click.echo(json.dumps(res.doc, indent=2))
        return
    doc = res.doc
    click.echo(f"{len(doc['trials'])} trials ({res.ran} run, {res.cached} cached) in {doc['wall_seconds']:.1f} s → {res.folder / 'results.json'}")
    click.echo(f"frontier (drop vs size): {', '.join(doc['frontier']['size']) or '-'}")
    win = res.winner
    click.echo(f"pick ({doc['select']['rule']}): " + (_line(win, False).strip() if win else "no trial qualifies"))
    if res.winner_bundle is not None:
        click.echo(f"exported the winner to {res.winner_bundle.path}")
