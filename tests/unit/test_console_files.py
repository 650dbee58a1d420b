"""The seller console's static files, without a browser: they exist, they load nothing from elsewhere, they stay
CSP-friendly, and the facts app.js hard-codes (it has no build step to import them) match the shared package."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from buyer_messaging import catalog, errors, marketplaces, models
from tests import support

CONSOLE = support.ROOT / "functions" / "api" / "console"
FILES = ("index.html", "app.js", "app.css", "favicon.svg")


def _read(name: str) -> str:
    return (CONSOLE / name).read_text(encoding="utf-8")


def _block(source: str, name: str) -> str:
    found = re.search(rf"// {name}:start.*?\n(.*?)// {name}:end", source, re.S)
    assert found, f"app.js lost its {name}:start / {name}:end markers"
    return found.group(1)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data


def _page() -> _Tags:
    parser = _Tags()
    parser.feed(_read("index.html"))
    return parser


@pytest.mark.parametrize("name", FILES)
def test_the_console_files_exist_and_are_not_empty(name: str) -> None:
    assert len(_read(name).strip()) > 100


def test_index_html_loads_only_the_consoles_own_files() -> None:
    referenced = []
    for tag, attrs in _page().tags:
        for attribute in ("src", "href"):
            value = attrs.get(attribute)
            if value is None or (tag == "a" and value.startswith("#")):
                continue
            parts = urlsplit(value)
            assert not parts.scheme and not parts.netloc, f"<{tag} {attribute}={value!r}> is not a local asset"
            referenced.append(value)
    # Relative to the page ("console/app.js"), so the console also works under a path prefix; each one exists.
    assert sorted(referenced) == ["console/app.css", "console/app.js", "console/favicon.svg"]
    for value in referenced:
        assert (CONSOLE / value.removeprefix("console/")).is_file(), value


def test_index_html_has_no_inline_script_style_or_handlers() -> None:
    page = _page()
    assert page.script_text.strip() == "", "inline <script> needs 'unsafe-inline' under a Content-Security-Policy"
    for tag, attrs in page.tags:
        assert tag != "style", "inline <style> needs 'unsafe-inline'"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"<{tag}> has inline handlers {handlers}"
        assert "style" not in attrs, f"<{tag}> has an inline style attribute"
        if tag == "script":
            assert attrs.get("type") == "module" and attrs.get("src"), "scripts are ES modules loaded from a file"


def test_every_form_control_has_a_label() -> None:
    tags = _page().tags
    labelled = {attrs.get("for") for tag, attrs in tags if tag == "label"}
    for tag, attrs in tags:
        if tag in {"input", "select", "textarea"}:
            assert attrs.get("id") in labelled or attrs.get("aria-label"), f"<{tag} id={attrs.get('id')}> has no label"


def test_app_js_has_no_eval_no_html_injection_and_no_foreign_hosts() -> None:
    source = _read("app.js")
    code = re.sub(r"^\s*//.*$", "", source, flags=re.M)  # comments may name what the code avoids
    for forbidden in (
        r"\beval\s*\(",
        r"\bnew\s+Function\b",
        r"\bsetTimeout\s*\(\s*[\"'`]",
        r"\bsetInterval\s*\(\s*[\"'`]",
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"insertAdjacentHTML",
        r"document\.write",
        r"\.on[a-z]+\s*=",  # handlers are added with addEventListener
        r"setAttribute\(\s*[\"'`]on",
        r"\bimport\s*\(",  # no dynamic imports: everything is this one file
        r"^\s*import\s",
    ):
        assert not re.search(forbidden, code, re.M), f"app.js matches {forbidden!r}"
    # The only host besides the page's own origin and the presigned S3 URL the API returns: Cognito's endpoint.
    hosts = set(re.findall(r"https?://[^\s\"'`/]+", code))
    assert hosts == {"https://cognito-idp.${region}.amazonaws.com"}


def test_app_css_loads_nothing_from_elsewhere() -> None:
    css = _read("app.css")
    assert "@import" not in css
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", css)


def test_app_js_lists_exactly_the_marketplaces_of_the_shared_package() -> None:
    rows = re.findall(r'\["(\w+)", "(\w+)", "[^"]+", "(\w+)"\]', _block(_read("app.js"), "marketplaces"))
    assert {marketplace_id: (country, region) for marketplace_id, country, region in rows} == dict(
        marketplaces.MARKETPLACES
    )
    assert len(rows) == len(marketplaces.MARKETPLACES), "a marketplace is listed twice"


def test_app_js_content_types_are_the_catalogs() -> None:
    pairs = re.findall(r'^  "(\.\w+)": "([^"]+)",$', _block(_read("app.js"), "content-types"), re.M)
    assert dict(pairs) == dict(catalog.ATTACHMENT_CONTENT_TYPES)
    assert len(pairs) == len(catalog.ATTACHMENT_CONTENT_TYPES)


def test_app_js_checks_what_the_workflow_checks() -> None:
    source = _read("app.js")
    pattern = re.search(r"const ORDER_ID_PATTERN = /(.*)/;", source)
    assert pattern and pattern.group(1) == models.AMAZON_ORDER_ID_PATTERN.pattern
    assert f"const FILE_NAME_MAX_LENGTH = {catalog.FILE_NAME_MAX_LENGTH};" in source


def test_app_js_explains_only_error_names_the_workflow_has() -> None:
    block = re.search(r"const FRIENDLY_ERRORS = \{(.*?)\n\};", _read("app.js"), re.S)
    assert block
    names = set(re.findall(r"^  (\w+):", block.group(1), re.M))
    known = {name for name, value in vars(errors).items() if isinstance(value, type)} | {"WorkflowError"}
    assert names <= known, f"unknown error names: {sorted(names - known)}"
    # Every error a message can end with has its own sentence; these never end a message: the S3 trigger's
    # (no execution starts) and the API's own answers (shown as the API's error, not in a timeline).
    never_end_a_message = {
        "UnsupportedS3Key",
        "ExecutionStartFailed",
        "IdempotencyKeyReused",
        "RequestNotFound",
        "UnsupportedContentType",
        # The client secret rotation's (buyer_messaging.rotation): raised outside any message's execution.
        "ClientSecretRotationNotEnrolled",
        "ClientSecretRotationRefused",
        "ClientSecretNotStored",
        "ClientSecretNotificationInvalid",
        "ClientSecretForAnotherClient",
    }
    can_end_a_message = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.BuyerMessagingError)
        and value not in (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
    } - never_end_a_message
    assert can_end_a_message - names == set(), "errors without a sentence in the console"


def test_app_js_states_the_user_pools_password_rules() -> None:
    """The new-password form says the rules of ConsoleUserPool (template.yaml), which Cognito enforces."""
    from cfnlint.decode import cfn_yaml

    block = _block(_read("app.js"), "password-policy")
    found = re.search(
        r"minimumLength: (\d+), lowercase: (true|false), uppercase: (true|false), numbers: (true|false), "
        r"symbols: (true|false)",
        block,
    )
    assert found, block
    template = cfn_yaml.load(str(support.ROOT / "template.yaml"))
    policy = template["Resources"]["ConsoleUserPool"]["Properties"]["Policies"]["PasswordPolicy"]
    assert (int(found[1]), *(flag == "true" for flag in found.groups()[1:])) == (
        policy["MinimumLength"],
        policy["RequireLowercase"],
        policy["RequireUppercase"],
        policy["RequireNumbers"],
        policy["RequireSymbols"],
    )
