"""Where the CLI's sign-in lives and which setting wins (environments are passed in)."""
import json
import os
import stat

import pytest

from framegate import config
from framegate.config import ConfigError, config_path, load_credentials, read_config, save_credentials


def test_framegate_config_wins_over_xdg_and_home(tmp_path):
    env = {"FRAMEGATE_CONFIG": str(tmp_path / "fg.json"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "HOME": str(tmp_path / "home")}
    assert config_path(env) == tmp_path / "fg.json"


def test_xdg_config_home_wins_over_home(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    assert config_path(env) == tmp_path / "xdg" / "framegate" / "config.json"


def test_home_is_the_fallback(tmp_path):
    assert config_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "framegate" / "config.json"


def test_saved_sign_in_is_private_and_read_back(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    path = save_credentials("http://127.0.0.1:18080/", "tok-1", "ed@studio.test", env)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:18080", "token": "tok-1",
                                            "email": "ed@studio.test"}
    creds = load_credentials(env)
    assert (creds.url, creds.token, creds.email, creds.source) == (
        "http://127.0.0.1:18080", "tok-1", "ed@studio.test", str(path))


def test_saving_tightens_a_loose_file_and_keeps_other_keys(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"url": "http://old", "token": "old", "theme": "dark"}))
    os.chmod(path, 0o644)
    save_credentials("http://new", "new", None, {"FRAMEGATE_CONFIG": str(path)})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": "http://new", "token": "new", "email": None, "theme": "dark"}


def test_environment_overrides_the_file(tmp_path):
    env = {"FRAMEGATE_CONFIG": str(tmp_path / "c.json")}
    save_credentials("http://file:1", "file-token", "a@b.test", env)
    creds = load_credentials({**env, "FRAMEGATE_URL": "http://env:2/", "FRAMEGATE_TOKEN": "env-token"})
    assert (creds.url, creds.token, creds.source) == ("http://env:2", "env-token", "FRAMEGATE_TOKEN")
    assert load_credentials({**env, "FRAMEGATE_URL": "http://env:2"}).token == "file-token"


def test_a_token_from_the_environment_alone_uses_the_local_stack_url(tmp_path):
    env = {"FRAMEGATE_CONFIG": str(tmp_path / "none.json"), "FRAMEGATE_TOKEN": "t", "FRAMEGATE_PORT_BASE": "28000"}
    assert load_credentials(env).url == "http://127.0.0.1:28080"


def test_no_token_anywhere_means_not_signed_in(tmp_path):
    env = {"FRAMEGATE_CONFIG": str(tmp_path / "none.json"), "FRAMEGATE_URL": "http://x"}
    assert load_credentials(env) is None
    assert config.NOT_SIGNED_IN == "not signed in: run `framegate login` (or `make up`)"


def test_a_broken_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="c.json is not valid JSON"):
        read_config(path)
    path.write_text("[1]")
    with pytest.raises(ConfigError, match="JSON object"):
        read_config(path)


def test_default_url_and_data_dir():
    assert config.default_url({}) == "http://127.0.0.1:18080"
    assert config.default_url({"FRAMEGATE_PORT_BASE": "28000"}) == "http://127.0.0.1:28080"
    with pytest.raises(ConfigError, match="FRAMEGATE_PORT_BASE"):
        config.default_url({"FRAMEGATE_PORT_BASE": "abc"})
    assert config.default_data_dir() == config.Path(config.__file__).resolve().parent.parent / ".data"
