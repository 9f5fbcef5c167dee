"""The secret rule set (``core.redaction``): every rule against a secret it must catch and
text it must leave alone, and the counts per rule the hook puts in the envelope."""

from __future__ import annotations

import pytest

from blueplane_pipeline.core import redaction
from blueplane_pipeline.core.redaction import REDACTED, redact

# Built from parts so that no complete token sits in the source as one literal.
A36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
HEX64 = "0123456789abcdef" * 4
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEowIBAAKCAQEA7bq9\nx2Lr0S8Y3wQ\n"

# (text with the secret, the rule that must fire, what must not survive, what must survive)
POSITIVES = [
    ("key AKIAIOSFODNN7EXAMPLE used", "aws-access-key-id", "AKIAIOSFODNN7EXAMPLE", "key "),
    ("sts ASIAY34FZKBOKMUTVV7A", "aws-access-key-id", "ASIAY34FZKBOKMUTVV7A", "sts "),
    (f"push with ghp_{A36}", "github-token", f"ghp_{A36}", "push with "),
    (f"GH_TOKEN github_pat_11ABCDEFG0{A36}_{A36}", "github-token", A36, "GH_TOKEN "),
    ("glpat-xY7zW9vU3tS1rQ5pO2nM", "gitlab-token", "xY7zW9vU3tS1rQ5pO2nM", None),
    (f"sk-ant-api03-{A36}{A36}AA", "anthropic-api-key", A36, None),
    (f"OPENAI sk-proj-{A36}", "openai-api-key", A36, "OPENAI "),
    ("stripe sk_live_51H8abcDEF0123456789xyz", "stripe-key", "51H8abcDEF0123456789", "stripe "),
    (f"npm_{A36} in .npmrc", "npm-token", A36, " in .npmrc"),
    ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "huggingface-token", "AbCdEfGhIjKlMnOpQr", None),
    ("xoxb-1234567890-abcdefghij", "slack-token", "1234567890-abcdefghij", None),
    ("AIzaSyA1234567890abcdefghijklmnopqrstu", "gcp-api-key", "SyA1234567890", None),
    (f"do dop_v1_{HEX64}", "digitalocean-token", HEX64, "do "),
    (f"Authorization: Bearer {A36}", "authorization-header", A36, "Authorization: Bearer "),
    (f"curl -H 'authorization: token {A36}'", "authorization-header", A36, "curl -H"),
    (f"cookie {JWT} end", "jwt", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV", " end"),
    (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----\nafter",
        "private-key",
        "MIIEowIBAAKCAQEA7bq9",
        "after",
    ),
    (
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}-----END OPENSSH PRIVATE KEY-----",
        "private-key",
        "x2Lr0S8Y3wQ",
        None,
    ),
    (
        f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{PEM_BODY}-----END PGP PRIVATE KEY BLOCK-----",
        "private-key",
        "MIIEowIBAAKCAQEA7bq9",
        None,
    ),
    (
        f"cat key.pem\n-----BEGIN PRIVATE KEY-----\n{PEM_BODY}",
        "private-key",
        "x2Lr0S8Y3wQ",
        "cat key.pem",
    ),  # unterminated: redacted to the end
    ("postgres://admin:s3cr3tpw@db.internal/x", "url-credentials", "s3cr3tpw", "postgres://admin:"),
    ("https://bob:p@ssw0rdX@host.example/path", "url-credentials", "ssw0rdX", "@host.example/path"),
    (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "secret-assignment",
        "wJalrXUtnFEMI",
        "AWS_SECRET_ACCESS_KEY=",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "secret-assignment",
        "wJalrXUtnFEMI",
        "aws_secret_access_key = ",
    ),
    ("export DB_PASSWORD=hunter22 && ./run", "secret-assignment", "hunter22", "&& ./run"),
    ("PGPASSWORD=tr0ub4dor psql -h db", "secret-assignment", "tr0ub4dor", " psql -h db"),
    (
        '{"user": "bob", "password": "correct horse"}',
        "secret-assignment",
        "correct horse",
        '"password": "',
    ),
    ("password: 'Sup3r$ecret'", "secret-assignment", "Sup3r$ecret", "password: '"),
    ("client_secret: abcd-efgh-ijkl", "secret-assignment", "abcd-efgh-ijkl", "client_secret: "),
    ("token=supersecretvalue123 please", "secret-assignment", "supersecretvalue123", " please"),
    ("api-key: q8w7e6r5t4", "secret-assignment", "q8w7e6r5t4", "api-key: "),
    ("mysql --password=hunter22 db", "cli-secret-flag", "hunter22", " db"),
    (
        "STORAGE_ACCOUNT_KEY_ID=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
        "high-entropy-assignment",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
        "STORAGE_ACCOUNT_KEY_ID=",
    ),
    ("card 4111 1111 1111 1111 exp 12/29", "card-number", "4111 1111 1111 1111", "exp 12/29"),
    ("pay 5555555555554444.", "card-number", "5555555555554444", "pay "),
    ("amex 3782-822463-10005", "card-number", "822463", "amex "),
]

# Text that must come back unchanged: ids, hashes, paths, numbers, ordinary words and code.
NEGATIVES = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b on main",
    "git log a94a8fe5ccb19ba61c4c0873d391e987982fbbd3..HEAD",
    "session 8f14e45f-ceea-467f-a0d9-7c5f6c3f9b2a started",
    "toolu_017etzYjdmfL93AVKdFUje1h",
    "/Users/dev/Code/personal/chat-pdf-via-rag/app.py",
    "src/components/PasswordField.tsx",
    "ssh://git@github.com/org/repo.git and git@github.com:org/repo.git",
    "http://localhost:8080/api/v1/keys?limit=10",
    "max_tokens=4096 and input_tokens: 12000",
    "password = os.environ['DB_PASSWORD']",
    'token = get_token("github")',
    "secret_key = settings.SECRET_KEY",
    "password: ${DB_PASSWORD}",
    "password: str",
    "The monkey found the keyboard key on the desk.",
    "Please make the tokenizer faster; the secret is caching.",
    "sk-learn is not scikit-learn",
    "timestamp 1733054400000 and 1733054400123",
    "order 4111 1111 1111 1112 (fails Luhn)",
    "phone +1 555 123 4567",
    "sort(key=lambda item: item.name)",
    "use the hf_hub_download helper",
    "ASIA is a continent, AKIA is not a word",
]


@pytest.mark.parametrize(
    ("text", "rule", "gone", "kept"), POSITIVES, ids=[p[1] + ":" + p[0][:24] for p in POSITIVES]
)
def test_each_rule_redacts_its_secret(text, rule, gone, kept):
    counts: dict[str, int] = {}
    out = redact(text, counts)
    assert gone not in out, out
    assert REDACTED in out
    if kept is not None:
        assert kept in out, out
    assert counts.get(rule, 0) >= 1, counts
    assert set(counts) <= set(redaction.RULE_NAMES)
    # idempotent: redacting the result finds nothing more
    again: dict[str, int] = {}
    assert redact(out, again) == out and again == {}


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_survives(text):
    counts: dict[str, int] = {}
    assert redact(text, counts) == text
    assert counts == {}


def test_every_rule_is_exercised_by_a_positive():
    exercised = {p[1] for p in POSITIVES}
    untested = set(redaction.RULE_NAMES) - exercised
    # the remaining provider rules share the prefix-rule shape tested above
    assert untested <= {
        "pypi-token",
        "slack-webhook",
        "google-oauth-token",
        "sendgrid-api-key",
        "shopify-token",
        "linear-api-key",
        "databricks-token",
        "age-secret-key",
    }, untested


def test_counts_add_up_per_rule():
    counts: dict[str, int] = {}
    redact("AKIAIOSFODNN7EXAMPLE and AKIAI44QH8DHBEXAMPLE, PGPASSWORD=hunter22", counts)
    assert counts == {"aws-access-key-id": 2, "secret-assignment": 1}


def test_output_head_masks_email_too():
    counts: dict[str, int] = {}
    out = redaction.redact_output_head("user bob@example.com paid with 4111111111111111", counts)
    assert out == f"user {REDACTED} paid with {REDACTED}"
    assert counts == {"email": 1, "card-number": 1}


def test_secret_like_json_keys():
    assert redaction.is_secret_key("password") and redaction.is_secret_key("DB_PASSWORD")
    assert redaction.is_secret_key("apiKey") and redaction.is_secret_key("client_secret")
    assert not redaction.is_secret_key("session_id") and not redaction.is_secret_key("keys")
    assert redaction.secret_value("hunter22") and not redaction.secret_value("${PASS}")


def test_a_repeated_text_is_redacted_and_counted_every_time():
    """Short texts are memoised per process; the answer and the counts must not change."""
    text = "export GITHUB_TOKEN=ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    first: dict[str, int] = {}
    second: dict[str, int] = {}
    once = redaction.redact(text, first)
    assert "ghp_a1B2" not in once and first
    assert redaction.redact(text, second) == once
    assert second == first  # counted again: each occurrence is a redaction
    assert redaction.redact(text) == once  # without counts too


def test_the_memo_stays_bounded(monkeypatch):
    monkeypatch.setattr(redaction, "MEMO_ENTRIES", 16)
    redaction._memo.clear()
    for n in range(100):
        redaction.redact(f"nothing secret here {n:04d}")
    assert len(redaction._memo) <= 16
    long_text = "word " * 200  # past MEMO_MAX_CHARS: never kept
    redaction.redact(long_text)
    assert long_text not in redaction._memo
