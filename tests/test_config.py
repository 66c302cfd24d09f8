from __future__ import annotations

import re
from pathlib import Path

import pytest

from compactor.config import OPTIONS, Config, load_config, make_config
from compactor.errors import ConfigError


def test_defaults_when_no_config(tmp_path: Path) -> None:
    config, source = load_config(tmp_path)
    assert source is None and config == Config()


def test_yaml_and_pyproject_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.compactor]\nthreshold = 0.9\n")
    assert load_config(tmp_path)[0].threshold == 0.9
    (tmp_path / ".compactor.yaml").write_text("threshold: 0.75\nexclude: [drafts/**]\n")
    config, source = load_config(tmp_path)
    assert source == ".compactor.yaml"
    assert config.threshold == 0.75 and config.exclude == ("drafts/**",)


def test_unknown_key_gets_did_you_mean() -> None:
    with pytest.raises(ConfigError, match="unknown option 'treshold'; did you mean 'threshold'"):
        make_config({"treshold": 0.5}, ".compactor.yaml")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"threshold": "high"}, "option 'threshold' must be a number"),
        ({"threshold": 1.5}, "must be between 0 and 1"),
        ({"num_perm": 12.5}, "must be a whole number"),
        ({"lane_pattern": "S(\\d+"}, "is not a valid regular expression"),
        ({"lane_pattern": "S\\d+"}, "needs a capturing group"),
        ({"archive_dir": "../outside"}, "must be a path inside the repository"),
        ({"inventory": "/etc/INVENTORY.md"}, "must be a path inside the repository"),
        ({"adjacent_mode": "maybe"}, "must be one of block, warn, off"),
        ({"kind_rules": {"memo": ["x"]}}, "names unknown kind 'memo'"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config(raw, ".compactor.yaml")


def test_paths_are_normalised_inside_the_repo() -> None:
    assert make_config({"archive_dir": "./docs/../docs/archive/"}).archive_dir == "docs/archive"


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().threshold = 0.1  # type: ignore[misc]


def test_readme_documents_every_option() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.M))
    assert set(OPTIONS) <= documented
