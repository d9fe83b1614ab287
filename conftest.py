"""The whole suite's infrastructure: one fixture module chooses real Kafka and MongoDB for all tests."""

pytest_plugins = ["helpt_localstack.pytest_plugin", "helpt_platform.leakcheck"]
