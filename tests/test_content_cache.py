"""Words looked up or escaped once are the words a fresh lookup gives, and refusals are not kept."""

from __future__ import annotations

import pytest

from skill.content import Content, ContentError, escape_template, load_language


def _fresh() -> Content:
    real = load_language("en")
    return Content(real.language, real.tree)


KEYS = ["prompts.welcome", "prompts.error", "prompts.reprompt", "routine.title", "prompts.anything_else"]


@pytest.mark.parametrize("key", KEYS)
def test_repeated_lookups_give_what_the_template_gives(key: str) -> None:
    words = _fresh()
    template = words.tree
    for part in key.split("."):
        template = template[part]
    for _ in range(2):
        assert words.get(key) is template
        assert words.say(key) == escape_template(template)
        assert words.text(key) == template.format()


def test_a_missing_key_is_refused_every_time() -> None:
    words = _fresh()
    for _ in range(2):
        with pytest.raises(ContentError):
            words.get("prompts.no_such_prompt")
        with pytest.raises(ContentError):
            words.say("prompts.no_such_prompt")


def test_a_template_needing_values_is_refused_without_them_every_time() -> None:
    words = Content("en", {"t": {"hello": "Hello {name} & co"}})
    for _ in range(2):
        with pytest.raises(KeyError):
            words.say("t.hello")
        with pytest.raises(KeyError):
            words.text("t.hello")
    assert words.say("t.hello", name="<Ann>") == "Hello &lt;Ann&gt; &amp; co"
    assert words.text("t.hello", name="Ann") == "Hello Ann & co"
