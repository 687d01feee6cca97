"""The gongfang central server: FastAPI app, domains, migrations, CLI."""
