import asyncio
import contextvars
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
    assert "+32 470 12 34 56" not in json.dumps(line)  # the whole number: a timestamp may hold any 3 digits


def test_third_party_log_lines_come_out_as_json_and_name_the_service_even_from_another_task(capsys):
    configure_logging("matching")

    async def elsewhere() -> None:  # uvicorn logs from tasks that never saw our set-up
        logging.getLogger("uvicorn.error").warning("port busy", extra={"color_message": "\x1b[1mport busy"})

    contextvars.Context().run(asyncio.run, elsewhere())
    (line,) = lines(capsys)
    assert line | {"timestamp": None} == {"event": "port busy", "service": "matching", "level": "warning", "timestamp": None}


PERSONAL = "".join(["Jan Pee", "ters, +32 4", "70 12 34 56"])  # built at run time: tracebacks quote source lines


def fail_on_personal_data() -> None:
    raise ValueError(f"input was {PERSONAL!r}")


def test_a_failing_handlers_exception_message_never_reaches_the_log(capsys):
    configure_logging("screening")
    try:
        fail_on_personal_data()
    except ValueError:
        logging.getLogger("faststream.access.kafka").exception("handler failed")
        get_logger("helpt").exception("our own handler failed")
    for line in lines(capsys):
        assert line["service"] == "screening" and line["level"] == "error"
        assert "ValueError" in line["exception"] and "fail_on_personal_data" in line["exception"]
        assert "Peeters" not in json.dumps(line) and "+32 4" not in json.dumps(line)
