"""Real Kafka (KRaft) and FerretDB as local processes for development and tests.

Entry points: helpt_localstack.stack.LocalStack, `python -m helpt_localstack`, and the
pytest plugin helpt_localstack.pytest_plugin.
"""
