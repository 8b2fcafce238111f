"""Discord markdown as the page shows it: formatting, mentions by name, and escaping."""

from __future__ import annotations

from radio.demo.markdown import to_html

NAMES = {12: "alice", 13: "b<o>b"}


def test_bold_italics_code_strike_underline() -> None:
    assert to_html("**a** *b* _c_ `d` ~~e~~ __f__") == (
        "<strong>a</strong> <em>b</em> <em>c</em> <code>d</code> <s>e</s> <u>f</u>"
    )


def test_code_is_not_formatted_and_blocks_keep_lines() -> None:
    assert to_html("`**x**`") == "<code>**x**</code>"
    assert to_html("```\nline 1\n**line** 2\n```") == ("<pre><code>line 1\n**line** 2</code></pre>")


def test_mentions_by_name_unknown_ones_as_discord_shows_them() -> None:
    assert to_html("<@12> <@!12> <@99>", NAMES) == (
        '<span class="mention">@alice</span> <span class="mention">@alice</span> '
        '<span class="mention">@unknown-user</span>'
    )
    assert to_html("<@&5> <#7>", roles={5: "dj"}, rooms={7: "studio"}) == (
        '<span class="mention">@dj</span> <span class="mention">#studio</span>'
    )


def test_everything_typed_is_escaped() -> None:
    hostile = '<script>alert("x")</script> <img src=x onerror=alert(1)> &amp;'
    out = to_html(hostile)
    assert "<script" not in out and "<img" not in out
    assert out == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
        "&lt;img src=x onerror=alert(1)&gt; &amp;amp;"
    )
    assert to_html("**<b>x</b>**") == "<strong>&lt;b&gt;x&lt;/b&gt;</strong>"
    assert to_html("`<i>`") == "<code>&lt;i&gt;</code>"
    # a member's name is text too
    assert to_html("<@13>", NAMES) == '<span class="mention">@b&lt;o&gt;b</span>'


def test_escaped_markers_stay_literal_and_snake_case_is_not_italic() -> None:
    assert to_html(r"\*not italic\* snake_case_name") == "*not italic* snake_case_name"


def test_quotes_and_lines() -> None:
    assert to_html("> quoted **b**\nnext") == (
        "<blockquote>quoted <strong>b</strong></blockquote><br>next"
    )


def test_private_use_markers_in_the_input_cannot_inject_pieces() -> None:
    assert to_html("\ue0000\ue000 `x`") == "0 <code>x</code>"
