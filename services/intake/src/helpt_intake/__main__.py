"""python -m helpt_intake: serve the intake service."""

from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_platform.run import serve

if __name__ == "__main__":
    serve(create_app, IntakeSettings())
