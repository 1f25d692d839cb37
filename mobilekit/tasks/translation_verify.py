"""`mobilekit verify` of a translation bundle: every verified (encoder, decoder) pair decodes the
sentences export judged again, by the rule export used (see translation_golden.reverify)."""

from __future__ import annotations

from ..bundle import Bundle
from ..errors import VerifyFailed
from ..progress import Progress
from . import translation_golden


def reverify(bundle: Bundle, progress: Progress) -> dict:
    """Translation bundles: every verified (encoder, decoder) pair greedy-decodes the golden sentences again."""
    report: dict[str, dict] = {}
    for a in bundle.artifacts:  # what export did not verify is skipped, as for classification
        if a.get("graph") and a["status"] != "verified":
            report[f"{a['target']}/{a['variant']}"] = {"status": "skipped", "reason": a.get("status_reason") or a.get("error", "")}
    failed = []
    for row in translation_golden.reverify(bundle):
        label = f"{row['target']}/{row['variant']}"
        if row["status"] == "unverified":
            report[label] = {"status": "skipped", "reason": row["status_reason"]}
        elif row["status"] == "failed":
            report[label] = {"status": "failed", "matched": row.get("matched", 0), "samples": row["samples"],
                             "differences": row.get("differences", []), "failures": [row["error"]]}
            failed.append(f"{label}: {row['error']}")
            progress.warn(f"{label}: {row['error']}")
        else:
            report[label] = {"status": "ok", "matched": row["matched"], "samples": row["samples"], "ties": row.get("ties", 0),
                             "differences": row.get("differences", []), "failures": []}
            ties = f" ({row['ties']} at near-ties of torch)" if row.get("ties") else ""
            progress.done(f"verify {label}", f"{row['matched']}/{row['samples']} judged sentences match torch{ties}")
    if failed:
        raise VerifyFailed(failed, report)
    return report
