"""Device latency for sweep trials: results imported with `mobilekit bench import` whose model
sha256 is a trial's artifact sha256 become that row's `device` list.

Where they are looked for: the bench/ folder of each trial's own bundle (harness generated from
`sweep/trials/<id>/<name>` and imported back there) and of any other bundle given, such as the
winner exported to the config's output_dir, which holds the same file (same sha256).
"""

from __future__ import annotations

import json
from pathlib import Path


def attach(rows: list[dict], folder: Path, bundles: tuple[Path, ...] = ()) -> None:
    """Set (or drop, when none exists any more) `row["device"]` on every row, in place."""
    dirs = [p for p in (_bundle_of(r, folder) for r in rows) if p is not None] + [Path(b) for b in bundles]
    index = device_results(dirs)
    for r in rows:
        sha = artifact_sha(r, folder)
        found = index.get(sha) if sha else None
        if found:
            r["device"] = found
        else:
            r.pop("device", None)


def device_results(bundle_dirs: list[Path]) -> dict[str, list[dict]]:
    """sha256 → the successful device results of that file in these bundles, one entry per
    device × runtime configuration (the newest when imported twice)."""
    from ..bench import results as res

    newest: dict[tuple, dict] = {}
    for d in dict.fromkeys(Path(p).resolve() for p in bundle_dirs):
        docs, _ = res.load_all(d)
        for doc in docs:
            if doc["status"] != "ok" or doc["source"]["kind"] != "device":
                continue
            lat = doc["results"]["latency_ms"]
            entry = {"device": res.device_label(doc), "platform": doc["device"]["platform"],
                     "runtime": f"{res.config_label(doc)} {doc['runtime']['version']}",
                     "p50_ms": lat["p50"], "p90_ms": lat["p90"], "runs": doc["config"]["runs"],
                     "created_at": doc["created_at"]}
            key = (doc["model"]["sha256"], entry["device"], entry["runtime"])
            if key not in newest or newest[key]["created_at"] < entry["created_at"]:
                newest[key] = entry
    out: dict[str, list[dict]] = {}
    for (sha, _, _), entry in sorted(newest.items()):
        out.setdefault(sha, []).append(entry)
    return out


def artifact_sha(row: dict, folder: Path) -> str | None:
    """The trial artifact's sha256: recorded in the row, or (rows written before it was) read from
    the trial bundle's manifest."""
    sha = (row.get("artifact") or {}).get("sha256")
    if sha or row["status"] == "failed":
        return sha
    bundle = _bundle_of(row, folder)
    if bundle is None:
        return None
    try:
        manifest = json.loads((bundle / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    cand = row["candidate"]
    return next((a.get("sha256") for a in manifest.get("artifacts", [])
                 if a.get("target") == cand["target"] and a.get("variant") == cand["variant"]), None)


def _bundle_of(row: dict, folder: Path) -> Path | None:
    if not row.get("bundle"):
        return None
    path = Path(folder) / row["bundle"]
    return path if path.is_dir() else None
