"""Credentials kept out of everything converse records or shows.

A model's key goes to its server and nowhere else. What could carry it elsewhere is scrubbed
before it is logged, recorded or printed:

- a URL's userinfo (``http://user:pass@host``) becomes ``***``, and so does a query (or
  fragment) value whose name says it is a credential (``api-key``, ``api_key``, ``key``,
  ``token``, ``access_token``, ``sig``, ``password``, ...): ``scrub_url``, and ``scrub_urls``
  for every URL in a text;
- a known secret (an API key, a URL's password, a credential's query value), in any case, and
  its Basic-auth forms (the base64 an ``Authorization: Basic`` header carries), anywhere in a
  text: ``Secrets.scrub``.

A value shorter than ``MIN_SECRET`` characters is not scrubbed as text: local servers take any
key, and a key such as ``none`` or ``ollama`` is a placeholder, not a secret (scrubbing it would
mangle every answer that says the word). Secrets a process was given are remembered
(``remember``), so that what records (the log writer) and what shows (the command line's
logging) scrub them too without being handed them.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = [
    "MIN_SECRET",
    "REDACTED",
    "Secrets",
    "is_credential_name",
    "known",
    "remember",
    "scrub_url",
    "scrub_urls",
    "url_secrets",
]

REDACTED = "***"
MIN_SECRET = 8

# A query name is a credential's if, lower-cased, it ends with one of these: so api-key, api_key,
# apikey, x-api-key, key, token, access_token, client_secret, sig, X-Amz-Signature, ...
_CREDENTIAL_NAMES = (
    "key", "token", "secret", "password", "passwd", "pwd", "auth", "sig", "signature", "credential", "credentials",
)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_AUTHORITY_END = re.compile(r"[/?#]")


def is_credential_name(name: str) -> bool:
    """Whether a query parameter named ``name`` holds a credential."""
    return unquote(name).strip().lower().endswith(_CREDENTIAL_NAMES)


def scrub_url(url: str) -> str:
    """``url`` with its userinfo and every credential's query or fragment value as ``***``.

    Only the URL's text changes: its scheme, host, path and the other parameters stay as they
    were written (nothing is re-encoded).
    """
    parts = _split(url)
    if parts is None:
        return url
    scheme, userinfo, host, path, query, fragment = parts
    return "".join((
        f"{scheme}://",
        f"{REDACTED}@" if userinfo is not None else "",
        host,
        path,
        "" if query is None else f"?{_scrub_pairs(query)}",
        "" if fragment is None else f"#{_scrub_pairs(fragment)}",
    ))


def scrub_urls(text: str) -> str:
    """``text`` with every URL in it scrubbed (``scrub_url``)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda found: scrub_url(found.group()), text)


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries: its userinfo's password (or its user name, when it has no
    password: a token), and the values of its credential query (and fragment) parameters; each
    as written and percent-decoded."""
    parts = _split(url)
    if parts is None:
        return []
    _, userinfo, _, _, query, fragment = parts
    values: list[str] = []
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        values.append(password if colon else user)
    for pairs in (query or "", fragment or ""):
        for pair in re.split("[&;]", pairs):
            name, equals, value = pair.partition("=")
            if equals and is_credential_name(name):
                values.append(value)
    return [form for value in values for form in {value, unquote(value)} if form]


class Secrets:
    """Secret values and the Basic-auth forms that carry them, scrubbed out of a text.

    Args:
        values: the secrets, matched in any case; those shorter than ``MIN_SECRET`` are left out.
        forms: exact strings to scrub as well (base64, whose case is its content).
    """

    __slots__ = ("_pattern", "forms", "values")

    def __init__(self, values: Iterable[str] = (), forms: Iterable[str] = ()) -> None:
        self.values = frozenset(v for v in values if len(v) >= MIN_SECRET)
        self.forms = frozenset(f for f in forms if f) | frozenset(
            form for value in self.values for form in (_basic(value, ""), _basic("", value))
        )
        # Longest first, so that a secret holding another is scrubbed whole.
        parts = sorted(self.values | self.forms, key=len, reverse=True)
        alternatives = [re.escape(p) if p in self.forms else f"(?i:{re.escape(p)})" for p in parts]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    @classmethod
    def of(cls, key: str | None = None, url: str | None = None) -> Secrets:
        """The secrets of a model reached at ``url`` with ``key``: the key, what the URL
        carries (``url_secrets``), and the Basic-auth header its userinfo makes."""
        values = [key] if key else []
        forms = []
        parts = _split(url) if url else None
        if parts is not None:
            values += url_secrets(url or "")
            userinfo = parts[1]
            if userinfo is not None and len(userinfo) > MIN_SECRET:  # httpx sends it as Basic auth
                user, _, password = userinfo.partition(":")
                forms += [_basic(user, password), _basic(unquote(user), unquote(password))]
        return cls(values, forms)

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(self.values | other.values, self.forms | other.forms)

    def scrub(self, text: str) -> str:
        """``text`` with every secret (in any case) and Basic-auth form of one as ``***``."""
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def scrub_all(self, text: str) -> str:
        """``text`` with every URL scrubbed (``scrub_urls``) and then every secret: for what
        an error or a log line says."""
        return self.scrub(scrub_urls(text))


def _split(url: str) -> tuple[str, str | None, str, str, str | None, str | None] | None:
    """A URL's scheme, userinfo, host (and port), path, query and fragment, as written (None:
    the part is absent); None if ``url`` has no ``scheme://``."""
    scheme, found, rest = url.partition("://")
    if not found:
        return None
    end = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    userinfo, at, host = authority.rpartition("@")
    tail, hash_mark, fragment = tail.partition("#")
    path, question, query = tail.partition("?")
    return scheme, userinfo if at else None, host, path, query if question else None, fragment if hash_mark else None


def _scrub_pairs(pairs: str) -> str:
    """A query's (or fragment's) ``name=value`` pairs with every credential's value as ``***``."""
    if "=" not in pairs:
        return pairs
    out = []
    for pair in re.split("([&;])", pairs):
        name, equals, value = pair.partition("=")
        out.append(f"{name}={REDACTED}" if equals and value and is_credential_name(name) else pair)
    return "".join(out)


def _basic(user: str, password: str) -> str:
    """The base64 an ``Authorization: Basic`` header carries for ``user`` and ``password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


_lock = threading.Lock()
_known = Secrets()


def remember(secrets: Secrets) -> None:
    """Add ``secrets`` to those this process scrubs from what it records and shows."""
    global _known
    with _lock:
        if not (secrets.values <= _known.values and secrets.forms <= _known.forms):
            _known = _known | secrets


def known() -> Secrets:
    """Every secret this process was given (``remember``)."""
    return _known
