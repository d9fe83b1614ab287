"""python -m helpt_gdpr: serve the gdpr service."""

from helpt_gdpr.app import create_app
from helpt_gdpr.settings import GdprSettings
from helpt_platform.run import serve

if __name__ == "__main__":
    serve(create_app, GdprSettings())
