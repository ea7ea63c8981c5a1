import pytest

from promptbot.config.environment import Environment
from promptbot.config.loading import load_config, parse_config
from promptbot.config.settings import AppConfig
from promptbot.errors import ConfigError


def test_shipped_app_yaml_is_valid():
    config = load_config("app.yaml")
    assert config.proposal_models() == ["gpt-4o-mini", "llama3-local"]
    assert config.scales["approval"].emoji == {"+1": 1, "-1": 0}
    assert config.scales["stars"].emoji["five"] == 5


def test_empty_file_gives_defaults(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text("")
    config = load_config(path)
    assert config == AppConfig()
    assert [e for scale in config.scales.values() if scale.seed for e in scale.emoji] == [
        "+1",
        "-1",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"modles": []}, "modles: is not a known setting"),
        ({"models": [{"name": "x"}]}, "models.0.model: is required"),
        (
            {"models": [{"name": "x", "model": "m", "timeout": "soon"}]},
            "models.0.timeout: Input should be a valid number",
        ),
        (
            {"models": [{"name": "x", "model": "m", "params": {"temperature": 9}}]},
            "models.0.params.temperature: Input should be less than or equal to 2",
        ),
        ({"default_models": ["ghost"]}, "default_models names unknown models: ghost"),
        (
            {"scales": {"a": {"emoji": {"+1": 1}}, "b": {"emoji": {"+1": 2}}}},
            "emoji '+1' is on two scales",
        ),
        ({"judge": {"model": "ghost"}}, "judge.model names an unknown model: ghost"),
        ({"judge": {"audit_share": 2}}, "judge.audit_share: Input should be less than"),
        ({"prompts": {"p": {"chekcs": []}}}, "prompts.p.chekcs: is not a known setting"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_bad_values_name_the_field(data, expected):
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text("models:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_provider_base_urls():
    config = parse_config(
        {
            "models": [
                {"name": "a", "model": "m", "provider": "ollama"},
                {"name": "b", "model": "m"},
                {"name": "c", "model": "m", "provider": "vllm", "base_url": "http://gpu:9000/v1"},
            ]
        }
    )
    assert config.model("a").resolved_base_url({}) == "http://localhost:11434/v1"
    assert config.model("b").resolved_base_url({}) is None
    assert config.model("b").resolved_base_url({"OPENAI_BASE_URL": "http://x/v1"}) == "http://x/v1"
    assert config.model("c").resolved_base_url({}) == "http://gpu:9000/v1"


def test_environment_defaults_and_require():
    env = Environment.capture({"SLACK_BOT_TOKEN": "xoxb-1", "MY_KEY": "k"})
    assert env.get("PROMPTBOT_DB") == "./promptbot.db"
    assert env.get("MY_KEY") == "k"
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        env.require("SLACK_SIGNING_SECRET")


def test_digest_schedule_reads_weekdays_as_cron_does():
    assert parse_config({"digest": {"schedule": "0 9 * * 1-7"}}).digest.schedule == "0 9 * * 1-7"
    with pytest.raises(ConfigError, match=r"digest.schedule: .0 9 \* \* 8. is not a usable"):
        parse_config({"digest": {"schedule": "0 9 * * 8"}})
    with pytest.raises(ConfigError, match=r"digest.timezone: unknown time zone .Mars/Base."):
        parse_config({"digest": {"timezone": "Mars/Base"}})


def test_judge_is_on_where_configured_unless_a_prompt_turns_it_off():
    models = [{"name": "a", "model": "m"}]
    assert not parse_config({"models": models}).judges("summary")
    config = parse_config(
        {"models": models, "judge": {"model": "a"}, "prompts": {"quiet": {"judge": False}}}
    )
    assert config.judges("summary")
    assert not config.judges("quiet")
    assert config.prompt_settings("summary").checks == []
