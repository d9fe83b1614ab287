import copy
import json
import shutil

import pytest

from helpt_contracts.compat import breaking_changes
from helpt_contracts.events import event_classes
from helpt_contracts.schemagen import CONTRACTS_DIR, asyncapi_document, event_schema, generated_files, main


def test_checked_in_schemas_and_asyncapi_equal_what_the_generator_produces_now():
    stale = [
        str(path.relative_to(CONTRACTS_DIR))
        for path, text in generated_files().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run `make contracts` and commit the result"


@pytest.mark.parametrize("model", event_classes(), ids=lambda m: m.__name__)
def test_current_models_do_not_break_consumers_of_the_committed_v1_schemas(model):
    committed = json.loads((CONTRACTS_DIR / "schemas" / "v1" / f"{model.__name__}.json").read_text())
    assert breaking_changes(committed, event_schema(model)) == []


@pytest.fixture
def schema():
    return event_schema(next(m for m in event_classes() if m.__name__ == "HelpRequested"))


def test_removing_a_field_breaks_consumers(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["postcode"]
    new["required"].remove("postcode")
    assert any("postcode: field removed" in p for p in breaking_changes(schema, new))


def test_renaming_a_field_breaks_consumers(schema):
    new = copy.deepcopy(schema)
    new["properties"]["post_code"] = new["properties"].pop("postcode")
    new["required"] = ["post_code" if r == "postcode" else r for r in new["required"]]
    problems = breaking_changes(schema, new)
    assert any("postcode" in p for p in problems) and any("post_code" in p for p in problems)


def test_retyping_a_field_breaks_consumers(schema):
    new = copy.deepcopy(schema)
    new["properties"]["volunteers_needed"]["type"] = "string"
    assert any("volunteers_needed" in p and "type" in p for p in breaking_changes(schema, new))


def test_a_change_inside_a_nested_model_is_found(schema):
    new = copy.deepcopy(schema)
    del new["$defs"]["SealedField"]["properties"]["nonce"]
    assert any("nonce: field removed" in p for p in breaking_changes(schema, new))


def test_removing_an_enum_value_breaks_consumers(schema):
    new = copy.deepcopy(schema)
    new["$defs"]["Channel"]["enum"].remove("email")
    assert breaking_changes(schema, new)


def test_a_new_required_field_breaks_but_a_new_optional_field_does_not(schema):
    optional = copy.deepcopy(schema)
    optional["properties"]["pets"] = {"type": "integer", "description": "How many pets."}
    assert breaking_changes(schema, optional) == []
    required = copy.deepcopy(optional)
    required["required"].append("pets")
    assert any("pets: became required" in p for p in breaking_changes(schema, required))


def test_rewording_a_description_is_compatible(schema):
    new = copy.deepcopy(schema)
    new["properties"]["postcode"]["description"] = "Where, roughly."
    assert breaking_changes(schema, new) == []


def test_the_generator_refuses_to_overwrite_a_schema_with_a_breaking_change(tmp_path, capsys):
    shutil.copytree(CONTRACTS_DIR / "schemas", tmp_path / "schemas")
    path = tmp_path / "schemas" / "v1" / "HelpRequested.json"
    committed = json.loads(path.read_text())
    committed["properties"]["household_size"] = {"type": "integer"}  # pretend v1 had a field we since dropped
    path.write_text(json.dumps(committed))

    assert main(["--root", str(tmp_path)]) == 1
    assert "household_size" in capsys.readouterr().err
    assert json.loads(path.read_text()) == committed


def test_check_mode_reports_a_stale_file(tmp_path):
    assert main(["--root", str(tmp_path)]) == 0  # fresh directory: writes everything
    assert main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / "asyncapi.json").write_text("{}")
    assert main(["--root", str(tmp_path), "--check"]) == 1


def test_the_asyncapi_document_describes_every_event_and_every_reference_resolves():
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["components"]["messages"]) == {m.__name__ for m in event_classes()}

    def resolve(ref: str):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    addresses = {c["address"] for c in doc["channels"].values()}
    assert "matching.partner.{org}.v1" in addresses
    receive_volunteers = [k for k, op in doc["operations"].items() if op["action"] == "receive" and "volunteers" in k]
    assert {k.split("-")[0] for k in receive_volunteers} == {"screening", "matching"}
