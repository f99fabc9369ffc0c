"""Settings come from the environment only, with 0.18 names accepted."""

from pathlib import Path

import pytest

from lookup_events.config import Settings


def test_embedded_defaults_live_in_the_data_dir(tmp_path):
    settings = Settings.from_env({"DTOOL_LOOKUP_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'lookup.db'}"
    assert settings.dataset_store_url == settings.database_url
    assert settings.broker_url == f"sqlite:///{tmp_path / 'queue.db'}"


def test_default_data_dir_follows_xdg():
    settings = Settings.from_env({"HOME": "/home/u"})
    assert settings.data_dir == Path("/home/u/.local/share/dtool-lookup")
    assert Settings.from_env({"XDG_DATA_HOME": "/x"}).data_dir == Path("/x/dtool-lookup")


def test_0_18_names_are_accepted(tmp_path):
    key_file = tmp_path / "key.pub"
    key_file.write_text("ssh-rsa AAAA test")
    settings = Settings.from_env(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/x",
            "JWT_PUBLIC_KEY_FILE": str(key_file),
            "JWT_ALGORITHM": "RS512",
            "CORS_EXPOSE_HEADERS": "X-Pagination, X-Other",
        }
    )
    assert settings.database_url == "postgresql+psycopg://db/x"
    assert settings.jwt_public_key == "ssh-rsa AAAA test"
    assert settings.jwt_algorithm == "RS512"
    assert settings.cors_expose_headers == ("X-Pagination", "X-Other")


def test_our_name_wins_over_the_0_18_name():
    settings = Settings.from_env(
        {
            "DTOOL_LOOKUP_DATABASE_URL": "sqlite:///a.db",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///b.db",
        }
    )
    assert settings.database_url == "sqlite:///a.db"


def test_public_view_hides_secrets():
    settings = Settings.from_env({"DTOOL_LOOKUP_DATABASE_URL": "postgresql://u:pw@h/db"})
    view = settings.public_view()
    assert view["database_url"] == "***"
    assert "pw" not in str(view)


def test_subscription_queues_are_name_url_pairs_and_shown_as_secret() -> None:
    settings = Settings.from_env(
        {
            "DTOOL_LOOKUP_SUBSCRIPTION_QUEUES": "a=amqp://u:p@h//#q, b=sqs+https://sqs.x/1/q",
            "DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS": "10.0.0.0/8,127.0.0.1",
        }
    )
    assert settings.subscription_queues == (
        ("a", "amqp://u:p@h//#q"),
        ("b", "sqs+https://sqs.x/1/q"),
    )
    assert settings.subscription_networks == ("10.0.0.0/8", "127.0.0.1")
    assert settings.public_view()["subscription_queues"] == "***"
    assert settings.subscriptions is False


def test_a_queue_without_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="expected name=URL"):
        Settings.from_env({"DTOOL_LOOKUP_SUBSCRIPTION_QUEUES": "amqp://h//#q"})
