"""The seller console's static files, without a browser: they exist, they load nothing from elsewhere, they stay
CSP-friendly, its ES modules import only each other, a page load fits the throttling of the console's routes, and
the facts the console shows and checks come from the API (GET /console/config.json), stated in no console file."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from buyer_messaging import catalog, console, errors, fields, marketplaces, resend, status
from buyer_messaging.campaigns import records
from tests import support

CONSOLE = support.ROOT / "functions" / "api" / "console"
ENTRY = "app.js"
MODULES = sorted(path.name for path in CONSOLE.glob("*.js"))
FILES = ("index.html", "app.css", "favicon.svg", *MODULES)
# A static import of a module beside it ("./compose.js"): GET /console/{name} serves one path segment.
IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([\w-]+\.js)";$', re.M)


def _read(name: str) -> str:
    return (CONSOLE / name).read_text(encoding="utf-8")


def _code(name: str) -> str:
    return re.sub(r"^\s*//.*$", "", _read(name), flags=re.M)  # comments may name what the code avoids


def _block(source: str, name: str) -> str:
    found = re.search(rf"// {name}:start.*?\n(.*?)// {name}:end", source, re.S)
    assert found, f"the console lost its {name}:start / {name}:end markers"
    return found.group(1)


def imports_of(module: str) -> list[str]:
    return IMPORT.findall(_code(module))


def modules_loaded() -> list[str]:
    """The modules a page load fetches: the entry and everything it imports, transitively."""
    found, todo = [ENTRY], [ENTRY]
    while todo:
        for imported in imports_of(todo.pop()):
            if imported not in found:
                found.append(imported)
                todo.append(imported)
    return sorted(found)


def console_route_fetches() -> list[str]:
    """What one page load asks GET /console/{name} for, at once: the files index.html names, the modules, and
    config.json (index.html itself is GET /, a route of its own)."""
    named = [value.removeprefix("console/") for value in _referenced()]
    return sorted({*named, *modules_loaded(), "config.json"})


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


def _referenced() -> list[str]:
    referenced = []
    for tag, attrs in _page().tags:
        for attribute in ("src", "href"):
            value = attrs.get(attribute)
            if value is None or (tag == "a" and value.startswith("#")):
                continue
            parts = urlsplit(value)
            assert not parts.scheme and not parts.netloc, f"<{tag} {attribute}={value!r}> is not a local asset"
            referenced.append(value)
    return referenced


@pytest.mark.parametrize("name", FILES)
def test_the_console_files_exist_and_are_not_empty(name: str) -> None:
    assert len(_read(name).strip()) > 100


def test_index_html_loads_only_the_consoles_own_files() -> None:
    referenced = _referenced()
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


@pytest.mark.parametrize("module", MODULES)
def test_no_module_has_eval_html_injection_or_dynamic_imports(module: str) -> None:
    code = _code(module)
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
        r"\bimport\s*\(",  # no dynamic imports: every module is one the page names statically
    ):
        assert not re.search(forbidden, code, re.M), f"{module} matches {forbidden!r}"
    # Every import is a static one of a module beside it, which exists.
    statements = re.findall(r"^\s*import\b[^;]*;", code, re.M)
    assert len(statements) == len(imports_of(module)), statements
    for imported in imports_of(module):
        assert (CONSOLE / imported).is_file(), f"{module} imports {imported}, which is not a console file"


def test_the_only_foreign_host_is_cognitos_endpoint() -> None:
    # The only host besides the page's own origin and the presigned S3 URL the API returns: Cognito's endpoint.
    hosts = set().union(*(re.findall(r"https?://[^\s\"'`/]+", _code(module)) for module in MODULES))
    assert hosts == {"https://cognito-idp.${region}.amazonaws.com"}


def test_the_entry_module_loads_every_module_of_the_console() -> None:
    """No module is left out of the page (a dead file), and every one the page loads is served: the API serves
    exactly the files of the folder (functions/api/app.py, GET /console/{name})."""
    assert modules_loaded() == MODULES
    assert {path.name for path in Path(CONSOLE).iterdir()} == {"index.html", *console_route_fetches()} - {"config.json"}


def test_a_first_page_load_is_never_throttled() -> None:
    """One page load fetches its files at once from GET /console/{name}: they fit the route's burst, so a first
    visit is never answered 429, and the template says how many they are."""
    from cfnlint.decode import cfn_yaml

    fetches = console_route_fetches()
    template = cfn_yaml.load(str(support.ROOT / "template.yaml"))
    parameters = template["Parameters"]
    assert len(fetches) <= parameters["ConsolePageThrottlingBurstLimit"]["Default"], fetches
    words = " ".join(parameters["ConsolePageThrottlingRateLimit"]["Description"].split())
    assert f"A page load fetches {len(fetches) + 1} files" in words  # and index.html, from GET /


def test_app_css_loads_nothing_from_elsewhere() -> None:
    css = _read("app.css")
    assert "@import" not in css
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", css)


def _facts(config: dict[str, object]) -> list[str]:
    """Every fact config.json gives the console, as text a console file would have to repeat to state it."""
    regions = config["regions"]
    assert isinstance(regions, list)
    found = [region["name"] for region in regions]
    for region in regions:
        for market in region["marketplaces"]:
            found += [market["marketplaceId"], f'"{market["name"]}"']
    content_types = config["contentTypes"]
    assert isinstance(content_types, dict)
    found += [f'"{content_type}"' for content_type in content_types.values()]
    found += [str(config["orderIdPattern"]), f"= {config['fileNameMaxLength']}"]
    error_texts = config["errors"]
    assert isinstance(error_texts, dict)
    found += [text[:40] for text in error_texts.values()]
    timeline = config["timeline"]
    assert isinstance(timeline, dict)
    found += [f'"{text}"' for text in timeline.values()]
    campaigns = config["campaigns"]
    assert isinstance(campaigns, dict)
    found += [f'"{text}"' for text in campaigns["statuses"].values()]
    found += [f"{campaigns['maxRows']:,} row", f"{campaigns['maxBytes']:,} bytes"]
    found += [str(campaigns["maxRows"]), str(campaigns["maxBytes"])]
    resends = config["resend"]
    assert isinstance(resends, dict)
    found += [f'"{name}"' for name in resends["errors"]]
    found += [f'"{text}"' for text in resends["reasons"].values()]
    found += [f"{resends['maxLimit']} message", f"{resends['maxRangeDays']} days"]
    return found


@pytest.mark.parametrize("module", MODULES)
def test_the_console_states_none_of_the_facts_the_api_serves_it(module: str) -> None:
    """Marketplaces, content types, the order id pattern, the longest file name, the error sentences and the
    timeline's words are written once, in the shared package, and the page reads them from
    GET /console/config.json."""
    source = " ".join(_read(module).split())
    assert [fact for fact in _facts(console.config({})) if fact in source] == []


def test_config_json_gives_the_facts_of_the_shared_package() -> None:
    config = console.config({})

    assert config["auth"] is None  # no user pool: the local stack signs nobody in
    listed = [
        (market["marketplaceId"], market["countryCode"], market["name"], region["region"])
        for region in config["regions"]
        for market in region["marketplaces"]
    ]
    assert listed == [
        (market.marketplace_id, market.country_code, market.name, market.region)
        for market in sorted(marketplaces.MARKETPLACE_LIST, key=lambda m: list(marketplaces.REGIONS).index(m.region))
    ]
    assert listed[0][0] == "ATVPDKIKX0DER"  # the console's default choice: United States
    assert {marketplace_id: (code, region) for marketplace_id, code, _, region in listed} == dict(
        marketplaces.MARKETPLACES
    )
    assert [region["name"] for region in config["regions"]] == ["North America", "Europe", "Far East"]
    assert config["contentTypes"] == dict(catalog.ATTACHMENT_CONTENT_TYPES)
    assert config["orderIdPattern"] == fields.AMAZON_ORDER_ID_PATTERN.pattern
    assert config["fileNameMaxLength"] == catalog.FILE_NAME_MAX_LENGTH


def test_config_json_words_every_status_of_a_request() -> None:
    """Each status a record can have, and the timeline entry that is not a status, in the page's words."""
    assert console.config({})["timeline"] == {
        "received": "Request received",
        "validated": "Checked against the order's rules",
        "uploading": "Uploading the files to Amazon",
        "sent": "Sent: Amazon accepted the message and emails the buyer",
        "failed": "Not sent",
        "unknown": "No answer from Amazon: the message may have reached the buyer",
        "waitingForQuota": "Waiting for its turn in Amazon's quota since",
        "held": "Held until the seller authorizes the app again, since",
    }
    assert set(console.timeline_texts()) == {*status.Status, status.WAITING_FOR_QUOTA, status.HELD}


def test_config_json_gives_the_campaigns_page_its_facts() -> None:
    """The formats, the row limit of the deployment (CAMPAIGN_MAX_ROWS), the API's byte limit and each run status
    of a campaign in words: the page states none of them."""
    assert console.config({"CAMPAIGN_MAX_ROWS": "2500"})["campaigns"] == {
        "formats": ["csv", "jsonl"],
        "maxRows": 2500,
        "maxBytes": 5_000_000,
        "statuses": {
            "checking": "Checking the manifest",
            "running": "Sending",
            "finished": "Finished",
            "failed": "Stopped: the campaign itself failed",
        },
    }
    assert set(console.CAMPAIGN_STATUS_TEXTS) == set(records.RunStatus)


def test_config_json_gives_the_resend_page_its_choices_words_and_limits() -> None:
    """The errors a failed request can be re-sent after (resend.resendable: no bad input but what a re-send may
    mend, never SendOutcomeUnknown), the outages' first; one sentence per reason a request is not re-sent; the
    limits of one re-send. The page states none of them."""
    served = console.config({})["resend"]
    assert served["errors"][:9] == [
        "SpApiThrottled",
        "SpApiUnavailable",
        "SpApiTokenExpired",
        "LwaUnavailable",
        "UploadEndpointUnavailable",
        "StagingUnavailable",
        "WorkflowTableUnavailable",
        "EventBusUnavailable",
        "SendInProgress",
    ]
    assert all(getattr(errors, name).transient for name in served["errors"][:9])
    assert set(served["errors"]) == {name for name in console.error_texts() if resend.resendable(name)}
    assert {"InvalidMessageText", "SpApiInvalidInput", "SendOutcomeUnknown"} & set(served["errors"]) == set()
    assert set(served["errors"]) >= resend.FIXABLE_BAD_INPUT | {"LwaInvalidGrant", console.WORKFLOW_ERROR}
    assert list(served["reasons"]) == list(resend.REASONS)
    assert served["reasons"]["alreadyResent"] == "Not re-sent: it was re-sent before"
    assert (served["maxRangeDays"], served["maxLimit"]) == (resend.MAX_RANGE_DAYS, resend.MAX_LIMIT) == (31, 100)


def test_config_json_names_the_deployments_user_pool() -> None:
    environment = {
        "CONSOLE_USER_POOL_ID": "eu-west-1_AbC",
        "CONSOLE_CLIENT_ID": "client",
        "CONSOLE_PASSWORD_POLICY": "minimumLength=14,lowercase=true,uppercase=false,numbers=true,symbols=true",
        "AWS_REGION": "eu-west-1",
    }
    assert console.config(environment)["auth"] == {
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_AbC",
        "clientId": "client",
        "passwordPolicy": {
            "minimumLength": 14,
            "lowercase": True,
            "uppercase": False,
            "numbers": True,
            "symbols": True,
        },
    }
    assert console.config({"CONSOLE_USER_POOL_ID": "eu-west-1_AbC"})["auth"] is None  # no client: no sign-in


def test_every_error_a_message_can_end_with_has_a_sentence_for_the_seller() -> None:
    names = set(console.error_texts())
    known = {name for name, value in vars(errors).items() if isinstance(value, type)} | {console.WORKFLOW_ERROR}
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
        # A campaign's manifest check (buyer_messaging.campaigns.manifest): a manifest or a row that never starts one.
        "ManifestInvalid",
        "ManifestTooLarge",
        "DuplicateRow",
        # A campaign's own (buyer_messaging.campaigns): about the campaign, never a message's end.
        "CampaignNotFound",
        "CampaignRunning",
        "CampaignExists",
        # The re-send's (buyer_messaging.resend): answers of POST /resends, never a message's end.
        "ResendSelectionInvalid",
        "ResendLimitExceeded",
        "ReportNotFound",
        # Onboarding's (buyer_messaging.sellers and the OAuth routes): about a seller, never a message's end.
        "SellerSecretUnavailable",
        "AuthorizationStateInvalid",
        "AuthorizationCodeRefused",
        "InvitationInvalid",
    }
    can_end_a_message = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.BuyerMessagingError)
        and value not in (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
    } - never_end_a_message
    assert can_end_a_message - names == set(), "errors without a sentence in the console"
    assert names - can_end_a_message == {console.WORKFLOW_ERROR}
    assert all(text.endswith(".") and "  " not in text for text in console.error_texts().values())


def test_the_new_password_form_states_the_rules_the_user_pool_enforces() -> None:
    """Said once: ConsoleUserPool's PasswordPolicy and ApiFunction's CONSOLE_PASSWORD_POLICY both come from the
    template's ConsolePassword mapping, and config.json serves (console.sign_in) exactly the rules the pool gets;
    the page states none of its own."""
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(support.ROOT / "template.yaml"))
    rules = template["Mappings"]["ConsolePassword"]["Policy"]
    policy = template["Resources"]["ConsoleUserPool"]["Properties"]["Policies"]["PasswordPolicy"]
    assert policy == {key: {"Fn::FindInMap": ["ConsolePassword", "Policy", key]} for key in rules}
    text, variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"][
        "CONSOLE_PASSWORD_POLICY"
    ]["Fn::Sub"]
    for name, value in variables.items():
        assert value["Fn::FindInMap"][:2] == ["ConsolePassword", "Policy"], name
        text = text.replace(f"${{{name}}}", str(rules[value["Fn::FindInMap"][2]]))
    environment = {
        "CONSOLE_USER_POOL_ID": "eu-west-1_Example1",
        "CONSOLE_CLIENT_ID": "c",
        "CONSOLE_PASSWORD_POLICY": text,
    }

    served = console.config(environment)["auth"]["passwordPolicy"]

    assert served == {
        "minimumLength": int(rules["MinimumLength"]),
        "lowercase": rules["RequireLowercase"] == "true",
        "uppercase": rules["RequireUppercase"] == "true",
        "numbers": rules["RequireNumbers"] == "true",
        "symbols": rules["RequireSymbols"] == "true",
    }
    assert "minimumLength:" not in _read("signin.js") and "passwordPolicy" in _read("signin.js")


def test_a_password_policy_that_is_not_the_templates_is_a_configuration_error() -> None:
    environment = {"CONSOLE_USER_POOL_ID": "eu-west-1_Example1", "CONSOLE_CLIENT_ID": "c"}
    for text in (
        "",
        "minimumLength=twelve,lowercase=true,uppercase=true,numbers=true,symbols=false",
        "minimumLength=12",
    ):
        with pytest.raises(errors.ConfigurationError) as raised:
            console.config({**environment, "CONSOLE_PASSWORD_POLICY": text})
        assert str(raised.value) == f"CONSOLE_PASSWORD_POLICY is not the template's password policy: {text!r}"
