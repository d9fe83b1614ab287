"""python -m helpt_screening: serve the screening service."""

from helpt_screening.app import create_app
from helpt_screening.settings import ScreeningSettings
from helpt_platform.run import serve

if __name__ == "__main__":
    serve(create_app, ScreeningSettings())
