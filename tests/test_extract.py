"""`extract` against SQLite databases built in tmp_path: declared columns and types, bound
values, streaming in chunks through Parquet staging, progress, and the errors a broken
database or template gives."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import cldetl.extract as extract_module
from cldetl.errors import InputError, UsageError
from cldetl.extract import extract
from cldetl.extract.database import stream_source
from cldetl.extract.render import render_source
from cldetl.mapping import MappingError, TemplateParams, load_mapping
from cldetl.spec.period import ReportingPeriod

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "mappings" / "testsys.yaml"
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
URL_ENV = "CLDETL_TEST_DB_URL"
PASSWORD = "Sup3rS3cretPw"

PEOPLE = pd.DataFrame(
    {
        "person_id": range(1, 11),
        "gender": ["F", "M"] * 5,
        "date_of_birth": ["1950-03-14"] * 9 + [None],
        "surname": ["Lovelock"] * 10,  # not declared: dropped
    }
)
STEPS = pd.DataFrame(
    {
        "step_id": range(1, 11),
        "person_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "step_type": ["ASSESS", "REVIEW", "OTHER", "ASSESS", "REVIEW"] * 2,
        "start_date": [
            "2025-01-01",
            "2025-02-01",
            "2025-03-01",
            "2024-01-01",  # ended before the period
            "2025-05-01",
            "2025-06-01",
            "2025-07-01",
            "2025-12-01",  # starts after the period
            "2023-05-01",  # open since before the period
            "2025-09-30",
        ],
        "end_date": [None, "2025-03-01", None, "2024-03-01", None, None, None, None, None, None],
        "cost": [10.5, 20.0, 1.0, 2.0, None, 3.0, 4.0, 5.0, 6.25, 7.0],
    }
)
IN_PERIOD_STEPS = [1, 2, 5, 6, 7, 9, 10]  # ASSESS/REVIEW overlapping Oct 2024 - Sep 2025


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(MAPPING)


@pytest.fixture
def db(tmp_path) -> str:
    """A SQLite 'case system' with the test connector's tables; returns its URL."""
    url = f"sqlite:///{tmp_path / 'cms.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        PEOPLE.to_sql("person", conn, index=False)
        STEPS.to_sql("CareSteps", conn, index=False)
    engine.dispose()
    return url


def with_source(mapping, name, **changes):
    sources = dict(mapping.sources)
    sources[name] = sources[name].model_copy(update=changes)
    return mapping.model_copy(update={"sources": sources})


def with_params(mapping, name, **params):
    current = mapping.sources[name].params
    values = {
        "identifiers": params.get("identifiers", current.identifiers),
        "flags": params.get("flags", current.flags),
        "values": params.get("values", current.values),
    }
    return with_source(mapping, name, params=TemplateParams.model_construct(**values))


def database_only(mapping):
    return mapping.model_copy(
        update={"sources": {k: v for k, v in mapping.sources.items() if v.template}}
    )


def template_dir(tmp_path: Path, **templates: str) -> Path:
    folder = tmp_path / "connectors" / "testsys"
    folder.mkdir(parents=True)
    for name, text in templates.items():
        (folder / f"{name}.sql.j2").write_text(text, encoding="utf-8")
    return tmp_path / "connectors"


# --- what comes out -----------------------------------------------------------------------------


def test_extract_gives_declared_columns_with_their_types(mapping, db):
    frames = extract(mapping, PERIOD, url=db)
    assert list(frames) == ["people", "steps", "carers"]
    people, steps = frames["people"], frames["steps"]
    assert list(people.columns) == ["person_id", "gender", "date_of_birth"]
    assert list(steps.columns) == [
        "step_id",
        "person_id",
        "step_type",
        "start_date",
        "end_date",
        "cost",
    ]
    assert str(people["person_id"].dtype) == "Int64"
    assert pd.api.types.is_string_dtype(people["gender"])
    assert pd.api.types.is_datetime64_dtype(people["date_of_birth"])
    assert pd.api.types.is_float_dtype(steps["cost"])
    assert people["date_of_birth"].isna().sum() == 1
    assert people["date_of_birth"].iloc[0] == pd.Timestamp("1950-03-14")
    assert list(frames["carers"]["carer_id"]) == ["C001", "C002"]


def test_period_and_code_list_are_bound_values(mapping, db):
    """:period_start/:period_end select the period; an expanding IN :step_types list works."""
    steps = extract(database_only(mapping), PERIOD, url=db)["steps"]
    assert list(steps["step_id"]) == IN_PERIOD_STEPS
    only_reviews = with_params(mapping, "steps", values={"step_types": ["REVIEW"]})
    steps = extract(database_only(only_reviews), PERIOD, url=db)["steps"]
    assert list(steps["step_id"]) == [2, 5, 7, 10]
    one_code = with_params(mapping, "steps", values={"step_types": ["OTHER"]})
    assert list(extract(database_only(one_code), PERIOD, url=db)["steps"]["step_id"]) == [3]
    no_codes = with_params(mapping, "steps", values={"step_types": []})
    assert len(extract(database_only(no_codes), PERIOD, url=db)["steps"]) == 0


def test_url_comes_from_the_environment_variable(mapping, db, monkeypatch):
    monkeypatch.setenv(URL_ENV, db)
    assert len(extract(database_only(mapping), PERIOD)["people"]) == 10


def test_unset_environment_variable_is_a_usage_error(mapping, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(UsageError, match=f"environment variable {URL_ENV} is not set") as err:
        extract(mapping, PERIOD)
    assert "connection.url_env" in str(err.value)


def test_reserved_and_mixed_case_identifiers_run(tmp_path, mapping):
    url = f"sqlite:///{tmp_path / 'cms.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        PEOPLE.to_sql("select", conn, index=False)  # a reserved word as a table name
        STEPS.to_sql("CareSteps", conn, index=False)
    engine.dispose()
    m = with_params(mapping, "people", identifiers={"people": "select"})
    frames = extract(database_only(m), PERIOD, url=url)
    assert len(frames["people"]) == 10 and len(frames["steps"]) == len(IN_PERIOD_STEPS)


def test_result_columns_match_case_insensitively_and_extras_are_dropped(tmp_path, mapping, db):
    folder = template_dir(
        tmp_path,
        people=(
            "SELECT p.surname AS SURNAME, p.date_of_birth AS Date_Of_Birth,\n"
            "       p.person_id AS PERSON_ID, p.gender AS gender\nFROM {{ t.people }} p\n"
        ),
    )
    m = database_only(mapping)
    m = m.model_copy(update={"sources": {"people": m.sources["people"]}})
    people = extract(m, PERIOD, url=db, connectors_dir=folder)["people"]
    assert list(people.columns) == ["person_id", "gender", "date_of_birth"]
    assert list(people["person_id"]) == list(range(1, 11))


def test_empty_result_has_the_declared_columns(mapping, db):
    m = with_params(mapping, "steps", values={"step_types": ["NONE"]})
    steps = extract(database_only(m), PERIOD, url=db)["steps"]
    assert len(steps) == 0
    assert list(steps.columns) == list(mapping.sources["steps"].columns)
    assert pd.api.types.is_datetime64_dtype(steps["start_date"])


# --- streaming ------------------------------------------------------------------------------


def test_chunked_streaming_gives_the_same_frames(mapping, db):
    whole = extract(database_only(mapping), PERIOD, url=db)
    chunked = extract(database_only(mapping), PERIOD, url=db, chunk_rows=3)
    for name in whole:
        pd.testing.assert_frame_equal(whole[name], chunked[name])


def test_stream_source_yields_chunks_of_at_most_chunk_rows(mapping, db):
    engine = sa.create_engine(db)
    rendered = render_source(mapping, "people", engine.dialect, PERIOD)
    with engine.connect() as conn:
        sizes = [
            t.num_rows for t in stream_source(conn, rendered, mapping.sources["people"], 3, db)
        ]
    engine.dispose()
    assert sizes == [3, 3, 3, 1]


@pytest.mark.parametrize("was_enabled", [True, False])
def test_the_garbage_collector_is_paused_while_reading_and_restored(mapping, db, was_enabled):
    import gc

    seen = []
    real = extract_module._stage

    def staging(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(extract_module, "_stage", staging)
        (gc.enable if was_enabled else gc.disable)()
        try:
            extract(database_only(mapping), PERIOD, url=db)
            assert seen == [False, False] and gc.isenabled() is was_enabled
            with pytest.raises(InputError):
                extract(database_only(mapping), PERIOD, url=db + "-missing")
            assert gc.isenabled() is was_enabled
        finally:
            gc.enable()


def test_staging_files_are_kept_only_when_asked(mapping, db, tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    extract(database_only(mapping), PERIOD, url=db, staging_dir=staging)
    assert sorted(p.name for p in staging.iterdir()) == ["people.parquet", "steps.parquet"]

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    extract(database_only(mapping), PERIOD, url=db)
    assert list(temp.iterdir()) == []  # the default staging folder is removed


def test_progress_off_prints_nothing(mapping, db, capfd):
    extract(mapping, PERIOD, url=db, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_on_shows_each_source_on_stderr(mapping, db, capsys):
    extract(mapping, PERIOD, url=db, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    for name in ("people", "steps", "carers"):
        assert name in err
    assert "rows" in err


def test_chunk_rows_must_be_positive(mapping, db):
    with pytest.raises(UsageError, match="chunk_rows"):
        extract(mapping, PERIOD, url=db, chunk_rows=0)


# --- sources without a database -------------------------------------------------------------


def test_file_only_mapping_needs_no_connection(mapping, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    m = mapping.model_copy(
        update={"connection": None, "sources": {"carers": mapping.sources["carers"]}}
    )
    assert list(extract(m, PERIOD)) == ["carers"]


def test_template_sources_without_connection_are_a_usage_error(mapping):
    with pytest.raises(UsageError, match="no 'connection'"):
        extract(mapping.model_copy(update={"connection": None}), PERIOD)


# --- bad input ------------------------------------------------------------------------------


def test_missing_table_names_source_template_and_what_to_check(mapping, db):
    m = with_params(mapping, "steps", identifiers={"steps": "care_steps_v2"})
    with pytest.raises(InputError) as err:
        extract(m, PERIOD, url=db)
    message = str(err.value)
    assert message.startswith("source 'steps': table or column missing")
    assert "care_steps_v2" in message
    assert "sources.steps.params.identifiers" in message
    assert "connectors/testsys/steps.sql.j2" in message


def test_missing_declared_column_names_source_column_and_template(tmp_path, mapping, db):
    folder = template_dir(
        tmp_path,
        people="SELECT p.person_id AS person_id, p.gender AS sex, p.date_of_birth\n"
        "FROM {{ t.people }} p\n",
        steps=(DATA / "connectors" / "testsys" / "steps.sql.j2").read_text(),
    )
    with pytest.raises(InputError) as err:
        extract(mapping, PERIOD, url=db, connectors_dir=folder)
    message = str(err.value)
    assert "source 'people'" in message and "no column(s) gender" in message
    assert "connectors/testsys/people.sql.j2" in message


def test_template_mistakes_surface_before_the_database_is_touched(mapping):
    bad = with_params(mapping, "steps", identifiers={})
    with pytest.raises(MappingError, match=r"t\.steps"):
        extract(bad, PERIOD, url="sqlite:////no/such/folder/cms.db")


def test_missing_sqlite_file_says_so_and_creates_nothing(mapping, tmp_path):
    """Not "no such table": SQLite would create an empty file; read-only mode never does."""
    missing = tmp_path / "cms.db"
    with pytest.raises(InputError, match="no SQLite database file at .*cms.db") as e:
        extract(mapping, PERIOD, url=f"sqlite:///{missing}")
    assert e.value.args[0].startswith("source 'people':")
    assert not e.value.transient
    assert not missing.exists()


def test_refused_login_message_masks_the_password(mapping, monkeypatch):
    """Whatever the driver says, the password never reaches the message."""
    url = f"mssql+pymssql://cld:{PASSWORD}@db.example.gov.uk/cms"

    def refuse():
        raise sqlite3.OperationalError(f"Login failed for user 'cld' (password {PASSWORD})")

    monkeypatch.setattr(
        extract_module,
        "create_engine",
        lambda url, origin, **_: sa.create_engine("sqlite://", creator=refuse),
    )
    monkeypatch.setenv(URL_ENV, url)
    with pytest.raises(InputError) as err:
        extract(mapping, PERIOD)
    message = str(err.value)
    assert PASSWORD not in message
    assert "mssql+pymssql://cld:***@db.example.gov.uk/cms" in message
    assert "Login failed for user 'cld'" in message
    assert f"credentials in ${URL_ENV}" in message
    assert not err.value.transient  # a refused login does not pass by itself


def _postgresql_driver() -> str:
    import psycopg  # noqa: F401 - a dev dependency

    return "psycopg"


def test_postgresql_on_a_closed_port(mapping):
    """A real driver against a port nothing listens on: refused at once."""
    driver = _postgresql_driver()
    url = f"postgresql+{driver}://cld:{PASSWORD}@127.0.0.1:1/cms?connect_timeout=3"
    with pytest.raises(InputError, match="refused the connection") as err:
        extract(mapping, PERIOD, url=url)
    assert PASSWORD not in str(err.value)
    assert "cld:***@127.0.0.1:1" in str(err.value)


def test_missing_driver_names_the_package(mapping, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyodbc", None)  # as on a machine without the driver
    url = f"mssql+pyodbc://cld:{PASSWORD}@db/cms?driver=ODBC+Driver+18+for+SQL+Server"
    with pytest.raises(UsageError, match="needs the Python package 'pyodbc'") as err:
        extract(mapping, PERIOD, url=url)
    assert PASSWORD not in str(err.value)


def test_unknown_dialect_in_url(mapping):
    with pytest.raises(UsageError, match="names a dialect SQLAlchemy does not know"):
        extract(mapping, PERIOD, url="mosaicdb://cms")


def test_a_value_that_is_not_a_date_is_reported_without_the_value(tmp_path, mapping):
    url = f"sqlite:///{tmp_path / 'cms.db'}"
    people = PEOPLE.copy()
    people.loc[6, "date_of_birth"] = "Lovelock 1950"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        people.to_sql("person", conn, index=False)
        STEPS.to_sql("CareSteps", conn, index=False)
    engine.dispose()
    with pytest.raises(InputError) as err:
        extract(database_only(mapping), PERIOD, url=url, chunk_rows=3)
    message = str(err.value)
    assert "source 'people' column 'date_of_birth': result row 7 is not a date" in message
    assert "Lovelock" not in message


def test_a_failed_source_leaves_no_staging_file(tmp_path, mapping, db):
    staging = tmp_path / "staging"
    m = with_params(mapping, "steps", identifiers={"steps": "care_steps_v2"})
    with pytest.raises(InputError):
        extract(database_only(m), PERIOD, url=db, staging_dir=staging)
    assert [p.name for p in staging.iterdir()] == ["people.parquet"]


def test_text_in_an_integer_column_is_reported_without_the_value(tmp_path, mapping):
    url = f"sqlite:///{tmp_path / 'cms.db'}"
    people = PEOPLE.astype({"person_id": object})
    people.loc[2, "person_id"] = "P-SMITH"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        people.to_sql("person", conn, index=False)
        STEPS.to_sql("CareSteps", conn, index=False)
    engine.dispose()
    with pytest.raises(InputError, match="result row 3 is not a whole number") as err:
        extract(database_only(mapping), PERIOD, url=url)
    assert "SMITH" not in str(err.value)


def test_sql_syntax_error_points_at_the_template(tmp_path, mapping, db):
    folder = template_dir(tmp_path, people="SELECT person_id FROM {{ t.people }} WHERE WHERE\n")
    m = database_only(mapping)
    m = m.model_copy(update={"sources": {"people": m.sources["people"]}})
    with pytest.raises(InputError, match="rejected the SQL of connectors/testsys/people.sql.j2"):
        extract(m, PERIOD, url=db, connectors_dir=folder)
