"""The tier's closing line: the JUnit reports of every AWX version added up, one line per version
then the total, in pytest's words. A version whose report is missing (its box failed before the
tests ran) counts as one failure."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def counts(report: Path) -> dict[str, int]:
    if not report.is_file():
        return {"passed": 0, "failed": 1, "skipped": 0}
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total, failures, errors, skipped = (
        int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")
    )
    return {"passed": total - failures - errors - skipped, "failed": failures + errors, "skipped": skipped}


def words(result: dict[str, int]) -> str:
    return f"{result['passed']} passed, {result['failed']} failed, {result['skipped']} skipped"


def main(paths: list[str]) -> None:
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for path in map(Path, paths):
        result = counts(path)
        print(f"awx-tier {path.parent.name}: {words(result)}")
        total = {name: total[name] + result[name] for name in total}
    print(f"awx-tier: {words(total)}")


if __name__ == "__main__":
    main(sys.argv[1:])
