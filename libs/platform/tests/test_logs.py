import json
import logging

from helpt_platform.logs import REDACTED, bound, configure_logging, get_logger


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_every_line_is_json_and_carries_the_service_and_bound_ids(capsys):
    configure_logging("screening")
    with bound(event_id="e-1", correlation_id="c-1", tenant="leuven"):
        get_logger("t").info("case opened", case="k-9")
    get_logger("t").info("after")
    first, second = lines(capsys)
    assert first | {"timestamp": None} == {
        "event": "case opened", "case": "k-9", "service": "screening", "event_id": "e-1",
        "correlation_id": "c-1", "tenant": "leuven", "level": "info", "timestamp": None,
    }
    assert "event_id" not in second and second["service"] == "screening"


def test_personal_data_passed_by_mistake_is_redacted(capsys):
    configure_logging("intake")
    get_logger().info("submitted", phone="+32 470 12 34 56", email="jan@example.org", task="shopping")
    (line,) = lines(capsys)
    assert line["phone"] == line["email"] == REDACTED
    assert line["task"] == "shopping"
    assert "470" not in json.dumps(line)


def test_third_party_log_lines_come_out_as_json_too(capsys):
    configure_logging("matching")
    logging.getLogger("uvicorn.error").warning("port busy")
    (line,) = lines(capsys)
    assert line["event"] == "port busy" and line["service"] == "matching" and line["level"] == "warning"
