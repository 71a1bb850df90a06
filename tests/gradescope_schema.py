"""Every results.json the tests produce is checked here: against the JSON Schema of Gradescope's
spec (gradescope_results.schema.json, written from its "Autograder Specifications" page), then
against what this grader promises on top of the spec (Markdown feedback, stdout for the
instructor only, every test field filled, our own data in extra_data)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text("utf-8"))
TEST_FIELDS = {"name", "number", "score", "max_score", "status", "output", "tags", "visibility", "extra_data"}


def assert_gradescope_results(results: dict) -> dict:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(results, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert results["output_format"] == results["test_output_format"] == "md"
    assert results["stdout_visibility"] == "hidden"
    assert {"score", "execution_time", "output", "tests", "extra_data"} <= set(results)
    for test in results["tests"]:
        assert set(test) == TEST_FIELDS, sorted(set(test) ^ TEST_FIELDS)
        assert test["status"] == ("passed" if test["score"] >= test["max_score"] else "failed")
    if results["tests"]:
        assert results["extra_data"]["max_score"] == sum(t["max_score"] for t in results["tests"])
        assert results["score"] == sum(t["score"] for t in results["tests"])
    return results


def assert_gradescope_file(path: Path) -> dict:
    return assert_gradescope_results(json.loads(path.read_text("utf-8")))
