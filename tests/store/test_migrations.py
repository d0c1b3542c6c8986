"""The schema comes from the migrations, matches the models exactly, and names constraints by the convention."""

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from store.models import NAMING_CONVENTION, Base


def test_upgrade_head_leaves_nothing_for_autogenerate(engine: Engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraint_names_follow_the_convention(engine: Engine):
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        expected = {constraint.name for constraint in table.constraints} | {index.name for index in table.indexes}
        reflected = {inspector.get_pk_constraint(table.name)["name"]}
        reflected |= {fk["name"] for fk in inspector.get_foreign_keys(table.name)}
        reflected |= {uq["name"] for uq in inspector.get_unique_constraints(table.name)}
        reflected |= {ck["name"] for ck in inspector.get_check_constraints(table.name)}
        reflected |= {ix["name"] for ix in inspector.get_indexes(table.name) if "duplicates_constraint" not in ix}
        assert reflected == expected, table.name
        prefixes = tuple(f"{kind}_{table.name}" for kind in NAMING_CONVENTION)
        assert all(name.startswith(prefixes) for name in reflected), reflected


def test_store_imports_neither_api_worker_nor_torch():
    code = "import sys, store, store.migrate; print(' '.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not {name.split(".")[0] for name in loaded} & {"api", "worker", "torch"}
