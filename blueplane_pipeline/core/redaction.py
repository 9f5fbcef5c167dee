"""The one secret rule set: what the privacy filter replaces with ``[REDACTED]``, rule by rule.

The rules follow the shape of the well-known secret scanners' rule sets (gitleaks,
GitHub secret scanning): fixed provider prefixes (``AKIA``, ``ghp_``, ``sk-ant-``,
``sk_live_``, ``npm_``, ``hf_``, ``glpat-``, JWTs, private key blocks), credentials in URLs
and headers, ``NAME=value`` / ``name: value`` / ``"name": "value"`` assignments for
secret-like names, and high-entropy values assigned to key-like names. Card numbers
(issuer prefix + Luhn) are redacted as well. Each rule has a name (counted per event in
the envelope's ``redactions`` and summed by ingest, see ``blueplane status``), keywords
(a cheap substring test, lower case, that must hit before the rule's regex runs) and a
replacement that keeps a harmless prefix (``password=``, ``https://user:``).

Regexes are compiled the first time a rule's keyword hits: the hook (one process per
event) then compiles the one or two rules its payload needs, not all of them.

Standard library only (the hook imports it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "[REDACTED]"
# Strings shorter than this hold no secret any rule below finds.
MIN_CHARS = 8

Replace = str | Callable[["re.Match[str]"], str | None]


class Rule:
    """One named rule; ``replace`` is a template, or a function returning ``None`` to keep
    the match (a placeholder, a low-entropy value, a failed Luhn check)."""

    __slots__ = ("name", "keywords", "source", "flags", "replace", "_pattern")

    def __init__(
        self,
        name: str,
        keywords: tuple[str, ...] | None,
        source: str,
        replace: Replace = REDACTED,
        flags: int = 0,
    ) -> None:
        self.name, self.keywords, self.source = name, keywords, source
        self.flags, self.replace, self._pattern = flags, replace, None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.source, self.flags)
        return self._pattern

    def applies(self, lower: str) -> bool:
        return self.keywords is None or any(k in lower for k in self.keywords)

    def apply(self, text: str) -> tuple[str, int]:
        if isinstance(self.replace, str):
            return self.pattern.subn(self.replace, text)
        hits = 0
        replace = self.replace

        def sub(match: re.Match[str]) -> str:
            nonlocal hits
            out = replace(match)
            if out is None:
                return match.group(0)
            hits += 1
            return out

        return self.pattern.sub(sub, text), hits


# --- replacements that decide per match ----------------------------------------------

# Values that name a secret rather than hold one: references, placeholders, types, code.
_NOT_A_VALUE_SOURCE = r"""(?x)^(?:
        \$.* | %[A-Za-z_]+%? | \{\{.* | <[^>]*>? | \*+ | x{3,} | \.\.\.|…
      | \[REDACTED\].* | (?i:none|null|nil|true|false|undefined|str|string|int|bool|bytes
      | optional|required|redacted|hidden|empty)
      | [A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+   # settings.SECRET_KEY
      | .*[(\[].*                                              # getenv("X"), env["X"]
    )$"""
_not_a_value: list[re.Pattern[str]] = []  # compiled on first use (the hook rarely needs it)


def _is_not_a_value(value: str) -> bool:
    if not _not_a_value:
        _not_a_value.append(re.compile(_NOT_A_VALUE_SOURCE))
    return _not_a_value[0].match(value) is not None


def _entropy(value: str) -> float:
    import math

    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _assigned_value(
    prefix: str, quote: str, value: str, min_bare: int, high_entropy: bool
) -> str | None:
    """The replacement of ``prefix quote value quote``, or ``None`` to keep it."""
    if not value or _is_not_a_value(value):
        return None
    if not quote and len(value) < min_bare:
        return None
    name = prefix.lower()
    if value.isdigit() and "pass" not in name and "pwd" not in name:
        return None  # max_tokens=4096, key: 3
    if high_entropy and not (
        len(value) >= 16
        and not value.startswith(("/", "./", "~/", "http"))
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and _entropy(value) >= 3.5
    ):
        return None
    return f"{prefix}{quote}{REDACTED}{quote}"


def _card(match: re.Match[str]) -> str | None:
    """A payment card number: an issuer prefix, 13-19 digits, and a valid Luhn sum."""
    start = match.start()
    if start and (match.string[start - 1].isalnum() or match.string[start - 1] in "_.-"):
        return None  # inside a longer word or number (checked here: a lookbehind would
        # stop the regex engine from skipping ahead to the next digit 2-6)
    digits = match.group(0).replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19:
        return None
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return REDACTED if total % 10 == 0 else None


# --- the rules, applied in this order --------------------------------------------------

# Names whose value is a secret whatever it looks like, and names whose value is one only
# when it looks like a token (long, mixed, high entropy).
_SECRET_WORD = (
    r"(?:passw(?:or)?d|passwd|pwd|passphrase|secret|token|api[_.\-]?key|apikey"
    r"|private[_.\-]?key|access[_.\-]?key|auth[_.\-]?key|credentials?)"
)
_KEYISH_WORD = r"(?:key|auth|access|credential|session)"
_NAME_TAIL = r"[A-Za-z0-9_.\-]{0,40}"
# A whole JSON key that names a secret (``DB_PASSWORD``, ``apiKey``).
_SECRET_NAME = r"[A-Za-z0-9_.\-]{0,40}?" + _SECRET_WORD + _NAME_TAIL
# In text the match starts at the secret-like word, not at the start of its name
# (``AWS_SECRET_ACCESS_KEY=`` matches from ``SECRET``): only the value is replaced, and a
# leading ``[\w.-]*`` would make the engine retry 40 characters at every word boundary.
# Then the rest of the name, an optional closing quote, the separator, and a quoted or a
# bare value.
_ASSIGN = (
    r"({word}" + _NAME_TAIL + r"[\"']?\s*(?:=|:=|=>|:)\s*)(?:([\"'])([^\"'\n]*)\2|()([^\s\"'`,;]+))"
)
# "passw", not "pass": ``bypassPermissions`` is in nearly every Claude Code payload.
_SECRET_KEYWORDS = (
    "passw",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "api.key",
    "private_key",
    "privatekey",
    "private-key",
    "access_key",
    "accesskey",
    "access-key",
    "auth_key",
    "authkey",
    "credential",
)


def _assign_rule(
    name: str, names: str, keywords: tuple[str, ...], min_bare: int, high_entropy: bool
) -> Rule:
    def replace(match: re.Match[str]) -> str | None:
        if match.group(2) is not None:  # a quoted value
            return _assigned_value(
                match.group(1), match.group(2), match.group(3), min_bare, high_entropy
            )
        return _assigned_value(match.group(1), "", match.group(5), min_bare, high_entropy)

    return Rule(name, keywords, _ASSIGN.replace("{word}", names), replace, re.I)


RULES: list[Rule] = [
    # PEM / OpenSSH / PGP private keys, to their END line or, unterminated, to the end.
    Rule(
        "private-key",
        ("private key",),
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    Rule(
        "aws-access-key-id",
        ("akia", "asia", "abia", "acca", "a3t"),
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    ),
    Rule(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{30,255})",
    ),
    Rule(
        "gitlab-token",
        (
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glsoat-",
            "glcbt-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glft-",
        ),
        r"\bgl(?:pat|dt|rt|ptt|soat|cbt|imt|agent|oas|ft)-[A-Za-z0-9_\-]{20,}",
    ),
    Rule("anthropic-api-key", ("sk-ant-",), r"\bsk-ant-[A-Za-z0-9_\-]{16,}"),
    Rule(
        "openai-api-key",
        ("sk-",),
        r"\bsk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}",
    ),
    Rule(
        "stripe-key",
        ("k_live_", "k_test_", "k_prod_", "whsec_"),
        r"\b(?:[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})",
    ),
    Rule("npm-token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    Rule(
        "huggingface-token",
        ("hf_", "api_org_"),
        r"\b(?:hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,})\b",
    ),
    Rule("pypi-token", ("pypi-ageichlwas5vcmc",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{40,}"),
    Rule("slack-token", ("xox",), r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"),
    Rule(
        "slack-webhook",
        ("hooks.slack.com",),
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}",
    ),
    Rule("gcp-api-key", ("aiza",), r"\bAIza[0-9A-Za-z_\-]{30,}"),
    Rule("google-oauth-token", ("ya29.",), r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    Rule("digitalocean-token", ("dop_v1_", "doo_v1_", "dor_v1_"), r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    Rule("sendgrid-api-key", ("sg.",), r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b"),
    Rule(
        "shopify-token",
        ("shpat_", "shpss_", "shpca_", "shppa_"),
        r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b",
    ),
    Rule("linear-api-key", ("lin_api_",), r"\blin_api_[A-Za-z0-9]{40}\b"),
    Rule("databricks-token", ("dapi",), r"\bdapi[a-f0-9]{32}(?:-\d)?\b"),
    Rule(
        "age-secret-key",
        ("age-secret-key-1",),
        r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
    ),
    Rule("jwt", ("eyj",), r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-+/=]*"),
    # user:password@ in any URL; the password may itself hold '@' (the last one ends it).
    Rule(
        "url-credentials",
        ("://",),
        r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/?#@:'\"<>]+):(?!\[REDACTED\]@)[^\s/?#'\"<>]*@",
        r"\1:" + REDACTED + "@",
    ),
    Rule(
        "authorization-header",
        ("authorization", "bearer"),
        r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:basic|bearer|token|digest)?\s*"
        r"|\bbearer\s+)[A-Za-z0-9._~+/\-]{12,}=*",
        r"\1" + REDACTED,
    ),
    Rule(
        "cli-secret-flag",
        ("--pass", "--token", "--secret", "--api", "--auth", "--access"),
        r"(?i)(--(?:password|passwd|token|secret|api[-_]?key|auth[-_]?token|access[-_]?token)"
        r"(?:=|\s+))([\"']?)(?!-|\[REDACTED\])[^\s\"']{3,}\2",
        r"\1\2" + REDACTED + r"\2",
    ),
    _assign_rule("secret-assignment", _SECRET_WORD, _SECRET_KEYWORDS, 4, high_entropy=False),
    _assign_rule(
        "high-entropy-assignment",
        _KEYISH_WORD,
        ("key", "auth", "access", "credential", "session"),
        16,
        high_entropy=True,
    ),
    Rule(
        "card-number",
        None,
        r"(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6(?:011|5\d{2}))"
        r"(?:[ -]?\d){9,15}(?![\w\-]|\.\d)",
        _card,
    ),
]

RULE_NAMES = tuple(rule.name for rule in RULES)
_ALL_KEYWORDS = tuple(dict.fromkeys(k for rule in RULES if rule.keywords for k in rule.keywords))
_RULES_BY_KEYWORD: dict[str, list[int]] = {}
for _i, _rule in enumerate(RULES):
    for _k in _rule.keywords or ():
        _RULES_BY_KEYWORD.setdefault(_k, []).append(_i)
CARD_RULE = next(rule for rule in RULES if rule.name == "card-number")
_DIGITS = re.compile(r"[2-6]\d{3}")  # every card number starts so
# Keys of a JSON object whose string value is a secret as a whole ({"password": "hunter2"}).
SECRET_KEY = Rule("secret-field", None, r"(?i)^" + _SECRET_NAME + "$")
_KEY_WORDS = ("pass", "pwd", "secret", "token", "key", "credential")
_secret_keys: dict[str, bool] = {}
SECRET_KEY_RULE = "secret-field"

# Tool output never survives outside ``full``, except the first line of a failure (to
# classify it): there an email address is masked too.
EMAIL = Rule("email", ("@",), r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
EMAIL_RULE = "email"


# Payloads repeat most of their short strings (cwd, branch, version, model, tool names:
# ~78 % of the calls on real transcripts), so short texts are redacted once per process and
# the answer reused, counts included. Bounded; it holds only what the process is filtering.
MEMO_MAX_CHARS = 512
MEMO_ENTRIES = 8192
_memo: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}


def redact(text: str, counts: dict[str, int] | None = None) -> str:
    """``text`` with every rule's matches replaced; ``counts`` (if given) gains the number
    of replacements per rule name."""
    if len(text) < MIN_CHARS:
        return text
    if len(text) > MEMO_MAX_CHARS:
        return _redact(text, counts)
    memo = _memo.get(text)
    if memo is None:
        found: dict[str, int] = {}
        memo = (_redact(text, found), tuple(found.items()))
        if len(_memo) >= MEMO_ENTRIES:
            _memo.clear()
        _memo[text] = memo
    if counts is not None:
        for name, hits in memo[1]:
            counts[name] = counts.get(name, 0) + hits
    return memo[0]


def _redact(text: str, counts: dict[str, int] | None) -> str:
    lower = text.lower()
    hit = [k for k in _ALL_KEYWORDS if k in lower]  # most texts hit no keyword at all
    if not hit:
        if _DIGITS.search(text) is None:
            return text
        return _apply(CARD_RULE, text, counts)
    wanted = {i for k in hit for i in _RULES_BY_KEYWORD[k]}
    for i, rule in enumerate(RULES):
        if rule.keywords is None or i in wanted:
            text = _apply(rule, text, counts)
    return text


def _apply(rule: Rule, text: str, counts: dict[str, int] | None) -> str:
    text, hits = rule.apply(text)
    if hits and counts is not None:
        counts[rule.name] = counts.get(rule.name, 0) + hits
    return text


def redact_output_head(text: str, counts: dict[str, int] | None = None) -> str:
    """The kept first line of tool output: secrets, card numbers and email addresses out."""
    text = redact(text, counts)
    if "@" not in text:
        return text
    text, hits = EMAIL.apply(text)
    if hits and counts is not None:
        counts[EMAIL_RULE] = counts.get(EMAIL_RULE, 0) + hits
    return text


def is_secret_key(key: str) -> bool:
    """Whether a JSON key names a secret (memoised: payloads repeat the same few keys)."""
    known = _secret_keys.get(key)
    if known is None:
        lower = key.lower()
        known = any(w in lower for w in _KEY_WORDS) and SECRET_KEY.pattern.match(key) is not None
        if len(_secret_keys) < 10_000:
            _secret_keys[key] = known
    return known


def secret_value(value: str) -> bool:
    """Whether the string under a secret-like key holds a secret (not a placeholder, a
    reference or a count)."""
    return _assigned_value("", "x", value, 4, False) is not None
