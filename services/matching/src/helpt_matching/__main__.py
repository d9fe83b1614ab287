"""python -m helpt_matching: serve the matching service."""

from helpt_matching.app import create_app
from helpt_matching.settings import MatchingSettings
from helpt_platform.run import serve

if __name__ == "__main__":
    serve(create_app, MatchingSettings())
