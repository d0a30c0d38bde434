pytest_plugins = ["tests.storage_fixtures"]
