"""JUnit XML from an export's manifest or a verify report, so CI systems show each check.

Per artifact: `convert`, `parity` and one case per configured budget; a failure's message
carries the figure and the limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def _case(suite: ET.Element, classname: str, name: str, failure: str | None = None, skipped: str | None = None) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if failure:
        ET.SubElement(case, "failure", message=failure).text = failure
    elif skipped:
        ET.SubElement(case, "skipped", message=skipped)


def _finish(suite: ET.Element) -> ET.Element:
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(sum(1 for c in suite if c.find("failure") is not None)))
    suite.set("skipped", str(sum(1 for c in suite if c.find("skipped") is not None)))
    suite.set("errors", "0")
    return suite


def from_manifest(manifest: dict) -> ET.Element:
    suite = ET.Element("testsuite", name=f"mobilekit.export.{manifest['name']}")
    budgets = manifest.get("budgets") or {}
    for a in manifest["artifacts"]:
        cls = f"{manifest['name']}.{a['target']}.{a['variant']}"
        checks = a.get("checks")
        if a["status"] == "failed" and checks is None:  # conversion or structure failed
            _case(suite, cls, "convert", failure=a.get("error", "failed"))
            continue
        _case(suite, cls, "convert")
        if a["status"] == "unverified":
            _case(suite, cls, "parity", skipped=a.get("status_reason", "unverified"))
            continue
        _case(suite, cls, "parity", failure="; ".join(checks["parity"]))
        for name in budgets:
            broken = [b for b in checks["budgets"] if b.startswith(f"budget {name}:")]
            _case(suite, cls, f"budget.{name}", failure="; ".join(broken))
    return _finish(suite)


def from_verify(name: str, report: dict) -> ET.Element:
    suite = ET.Element("testsuite", name=f"mobilekit.verify.{name}")
    for label, r in report.items():
        cls = f"{name}.{label.replace('/', '.')}"
        if r["status"] == "skipped":
            _case(suite, cls, "golden", skipped=r.get("reason") or "not run")
        else:
            _case(suite, cls, "golden", failure="; ".join(r.get("failures", [])))
    return _finish(suite)


def write(suite: ET.Element, path: str | Path) -> None:
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    Path(path).write_text(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8")
