"""Whether a target can take a piece of content, from its catalog entry's `publishing` rules
(data, not code branches), before any network call. Answers the spec's error map."""

from __future__ import annotations

from typing import Any

from twitter_text import parse_tweet

from connectorhub.publish.schemas import PublishRequest


def text_length(text: str, counting: str) -> int:
    """How the target counts: plain characters, or X's weighted length (URLs as 23, most emoji
    and CJK characters as 2), by the twitter-text rules."""
    if counting == "x_weighted":
        return parse_tweet(text).weightedLength
    return len(text)


def _length_message(name: str, rules: dict[str, Any], length: int) -> str:
    limit = rules["max_length"]
    if rules["length_counting"] == "x_weighted":
        return f"{name} allows {limit} characters; this has {length} (a URL counts as 23)."
    return f"{name} allows {limit} characters; this has {length}."


def content_errors(
    name: str, rules: dict[str, Any], request: PublishRequest
) -> dict[str, list[str]]:
    """The error map for what `name` (the target's display name) cannot take; empty when fine."""
    errors: dict[str, list[str]] = {}
    sent = request.text + (f" {request.link}" if request.link and rules.get("link_in_text") else "")
    length = text_length(sent, rules["length_counting"])
    if length > rules["max_length"]:
        errors["text"] = [_length_message(name, rules, length)]
    if request.thread and not rules.get("thread", False):
        errors["thread"] = [f"{name} does not take a thread."]
    for index, post in enumerate(request.thread if rules.get("thread") else []):
        if (length := text_length(post, rules["length_counting"])) > rules["max_length"]:
            errors[f"thread[{index}]"] = [_length_message(name, rules, length)]
    for field in ("title", "html", "markdown"):
        if getattr(request, field) is not None and not rules.get(field, False):
            errors[field] = [f"{name} does not take {'a ' if field == 'title' else ''}{field}."]
    if request.html is not None and request.markdown is not None:
        errors["markdown"] = ["Give html or markdown, not both."]
    max_tags = rules.get("max_tags", 0)
    if len(request.tags) > max_tags:
        errors["tags"] = [
            f"{name} takes at most {max_tags} tags; {len(request.tags)} were given."
            if max_tags
            else f"{name} does not take tags."
        ]
    if request.categories and not rules.get("categories", False):
        errors["categories"] = [f"{name} does not take categories."]
    max_media = rules.get("max_media", 0)
    if len(request.media) > max_media:
        errors["media"] = [
            f"{name} takes at most {max_media} media items; {len(request.media)} were given."
        ]
    if request.status is not None and request.status not in rules.get("statuses", ["publish"]):
        errors["status"] = [f"{name} does not take {request.status!r} posts."]
    return errors
