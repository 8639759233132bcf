"""Supply-chain audit for .ci/run: known vulnerabilities in the installed packages (pip-audit) and
in our own code (bandit). Waivers are dated and written in .ci/WAIVERS.md; an expired one fails.

pip-audit asks PyPI's per-release JSON (`/pypi/<name>/<version>/json`) for advisories. Where that
endpoint is not served (this build machine reaches PyPI's project pages only), every package comes
back "not found on PyPI". Then each package is checked against the project JSON instead, whose
`vulnerabilities` are those of the latest release: a package installed at its latest release is
audited that way; one held back by a version cap is named as not audited. Run from the repository
root inside the venv: `python .ci/audit.py`.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from datetime import date
from importlib import metadata
from pathlib import Path

WAIVERS = Path(__file__).with_name("WAIVERS.md")
# A waiver line in WAIVERS.md: "- `ID` package, until YYYY-MM-DD: reason"
WAIVER = re.compile(r"^- `(?P<id>[^`]+)` (?P<package>[\w.-]+), until (?P<until>\d{4}-\d{2}-\d{2}): (?P<why>.+)$")


def waivers(today: date) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in WAIVERS.read_text(encoding="utf-8").splitlines():
        if match := WAIVER.match(line):
            if date.fromisoformat(match["until"]) < today:
                sys.exit(f"audit: the waiver for {match['id']} ({match['package']}) expired on {match['until']}")
            found[match["id"]] = match["package"]
    return found


def pip_audit(waived: dict[str, str]) -> tuple[list[str], list[str]]:
    """(findings, packages pip-audit could not audit)."""
    command = [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off", "--skip-editable"]
    for vuln in waived:
        command += ["--ignore-vuln", vuln]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(run.stderr.strip()[-2000:], file=sys.stderr)
        return [], [dist.metadata["Name"] for dist in metadata.distributions()]
    findings = [f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or '-'})"
                for dep in report["dependencies"] for vuln in dep.get("vulns", []) if vuln["id"] not in waived]
    skipped = [dep["name"] for dep in report["dependencies"]
               if "skip_reason" in dep and "editable" not in dep["skip_reason"].lower()]
    return findings, skipped


def project_json(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=15) as answer:  # nosec B310
            return json.load(answer)
    except (OSError, ValueError):
        return None


def latest_release_check(names: list[str], waived: dict[str, str]) -> tuple[list[str], list[str]]:
    """(findings, not audited) from the project JSON, for packages installed at their latest release."""
    findings: list[str] = []
    unaudited: list[str] = []
    for name in sorted(set(names), key=str.lower):
        installed = metadata.version(name)
        data = project_json(name)
        if data is None:
            unaudited.append(f"{name} {installed} (PyPI unreachable)")
            continue
        if data["info"]["version"] != installed:
            unaudited.append(f"{name} {installed} (latest is {data['info']['version']})")
            continue
        for vuln in data.get("vulnerabilities") or []:
            ids = {vuln["id"], *vuln.get("aliases", [])}
            if not vuln.get("withdrawn") and not ids & waived.keys():
                findings.append(f"{name} {installed}: {vuln['id']} (fixed in {', '.join(vuln.get('fixed_in', [])) or '-'})")
    return findings, unaudited


def main() -> int:
    waived = waivers(date.today())
    findings, skipped = pip_audit(waived)
    unaudited: list[str] = []
    if skipped:
        print(f"audit: pip-audit could not audit {len(skipped)} packages; checking them against PyPI's "
              "project JSON (the latest release's advisories)")
        more, unaudited = latest_release_check(skipped, waived)
        findings += more
    for line in unaudited:
        print(f"audit: not audited: {line}")
    bandit = subprocess.run([sys.executable, "-m", "bandit", "-q", "-r", "fieldsvc"], check=False,
                            capture_output=True, text=True)
    if bandit.returncode:
        print(bandit.stdout)
        findings.append("bandit reported issues in fieldsvc/ (above)")
    for line in findings:
        print(f"audit: {line}", file=sys.stderr)
    print(f"audit: {len(findings)} findings, {len(waived)} waived advisories, {len(unaudited)} packages not audited")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
