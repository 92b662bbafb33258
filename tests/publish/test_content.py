"""Content is checked against the target's catalog rules before any network call."""

from __future__ import annotations

from connectorhub.catalog.loader import load_entries
from connectorhub.publish.content import content_errors, text_length
from connectorhub.publish.drivers import DRIVERS
from connectorhub.publish.schemas import PublishRequest

RULES = {e.key: e.data["publishing"] for e in load_entries() if e.data.get("publishing")}


def errors(key: str, **fields) -> dict[str, list[str]]:
    return content_errors(RULES[key]["name"], RULES[key], PublishRequest(**fields))


def test_every_publisher_entry_has_rules_and_a_driver():
    assert set(RULES) == {"twitter", "wordpress", "linkedin", "medium"}
    assert set(DRIVERS) == set(RULES)
    assert all(rules["available"] for rules in RULES.values())


def test_x_counts_the_way_x_does_urls_as_23_and_emoji_as_2():
    url = "https://example.com/" + "a" * 200
    assert text_length(f"see {url}", "x_weighted") == 4 + 23
    assert text_length("😀", "x_weighted") == 2
    assert text_length("😀", "characters") == 1
    text = "x" * 270 + " " + url + "  "  # 270 + 1 + 23 + 2 = 296 weighted; 473 characters
    text += "y"
    assert errors("twitter", text=text) == {
        "text": ["X allows 280 characters; this has 297 (a URL counts as 23)."]
    }
    assert errors("twitter", text="x" * 256 + " " + url) == {}  # 280 exactly


def test_what_each_target_cannot_take_is_named_by_field():
    assert errors("twitter", text="hi", title="A title", html="<p>hi</p>") == {
        "title": ["X does not take a title."],
        "html": ["X does not take html."],
    }
    assert errors("medium", text="hi", tags=["a", "b", "c", "d"]) == {
        "tags": ["Medium takes at most 3 tags; 4 were given."]
    }
    assert errors("wordpress", text="hi", markdown="# hi") == {
        "markdown": ["WordPress does not take markdown."]
    }
    assert errors("linkedin", text="x" * 3001)["text"] == [
        "LinkedIn allows 3000 characters; this has 3001."
    ]
    assert errors("wordpress", text="hi", html="<p>hi</p>", categories=["News"], tags=["a"]) == {}
    assert errors("twitter", text="hi", status="draft") == {
        "status": ["X does not take 'draft' posts."]
    }
