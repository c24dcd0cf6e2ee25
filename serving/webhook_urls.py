"""Which URLs a webhook may name, and where a post to one may go.

A webhook makes the service send requests to an address an agency chose: without rules, a key
holder could point it at the service itself (``http://127.0.0.1:3000/admin/reload``), at the
cloud's metadata endpoint, or at any host on the operator's private network, and read the
answers' timing. :func:`check_url` is the one gate, applied at registration and again before
every delivery (a name that resolved to a public address yesterday may resolve to
``127.0.0.1`` today):

* ``https`` only, to the default port or a port from 1024 up; plain ``http`` and private
  addresses only for hosts the operator lists in ``CROSSPLAN_WEBHOOK_ALLOW``;
* printable ASCII only (no CR/LF, no spaces, no ``\\``), no ``user:password@``, no
  ``#fragment``;
* a host that is a name (letters, digits, hyphens) or an address in its usual form: numeric
  spellings the resolver would also accept (``2130706433``, ``0x7f.1``, ``127.1``,
  ``0177.0.0.1``) are refused rather than interpreted;
* every address the name resolves to must be public: loopback, private, link-local,
  multicast, unspecified, reserved, shared (carrier NAT) and cloud-metadata addresses are
  refused, also when written as IPv6 forms of an IPv4 address (``::ffff:127.0.0.1``, 6to4,
  NAT64). An allowed host may use any address but the unspecified, multicast and metadata
  ones.

The answer, a :class:`Destination`, names the address checked: the post connects to exactly
that address, so a second lookup cannot send it elsewhere. :func:`redact` is the form of a
URL that may be shown and logged: its query's values (where tokens go) replaced by ``***``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = [
    "MAX_URL_LENGTH",
    "URL_PATTERN",
    "Destination",
    "Resolver",
    "UnresolvedHostError",
    "check_url",
    "redact",
    "resolve_host",
]

MAX_URL_LENGTH = 2000

Resolver = Callable[[str, int], list[str]]
"""Gives the addresses of a host name (the seam tests use in place of DNS)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that mean this machine or the cloud's metadata service, whatever DNS says.
_LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata",
     "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)  # fmt: skip
# Metadata services of the common clouds (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba).
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_DOTTED_QUAD = re.compile(
    r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# A last label of digits or 0x-hex makes the resolver read the whole host as a number.
_NUMERIC_LABEL = re.compile(r"\d+|0x[0-9a-f]*")
# What a webhook URL may hold: printable ASCII but space, '#' (a fragment, refused with a
# message of its own) and the characters RFC 3986 never allows unencoded. The request's
# schema documents it (URL_PATTERN); the check below says which character, and where.
_URL_CHARACTERS = r"!$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~"
URL_PATTERN = f"^[{_URL_CHARACTERS}]+$"
_UNSAFE_CHARACTER = re.compile(f"[^{_URL_CHARACTERS}#]")
_DEFAULT_PORT = {"https": 443, "http": 80}
_EXAMPLE = "e.g. https://alerts.example.org/crossplan"


class UnresolvedHostError(DataValidationError):
    """The host name gives no address (perhaps only for now: DNS may be down)."""


@dataclass(frozen=True)
class Destination:
    """Where a post goes: the checked address, and what to ask for there.

    Attributes
    ----------
    scheme
        ``https``, or ``http`` for an allowed host.
    host
        The host name as written (lower case), for the ``Host`` header and TLS.
    port
        The port.
    target
        Path and query, as sent in the request line.
    address
        The address that was checked and that the post connects to.
    """

    scheme: str
    host: str
    port: int
    target: str
    address: str


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(
    url: str,
    allow: Iterable[str] = (),
    resolve: Resolver = resolve_host,
    *,
    field: str = "url",
) -> Destination:
    """Check a webhook URL and the addresses of its host; where a post to it goes.

    Parameters
    ----------
    url
        The URL as given (with its query, which may hold a token).
    allow
        Hosts the operator allows plain http and private addresses for
        (``CROSSPLAN_WEBHOOK_ALLOW``).
    resolve
        Gives the addresses of a host name.
    field
        The request field the URL came in, for the problems.

    Raises
    ------
    DataValidationError
        Every rule the URL breaks, each saying how to fix it. Messages never repeat the
        URL's query or user information.
    UnresolvedHostError
        The host name gives no address.
    """
    problems = _syntax_problems(url, field)
    if problems:
        raise DataValidationError(problems)
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    allowed = host in {a.strip().strip("[]").rstrip(".").lower() for a in allow}
    literal, host_problem = _host_form(host, bracketed=parts.netloc.rpartition("@")[2][:1] == "[")
    port = parts.port or _DEFAULT_PORT.get(scheme, 0)
    problems = [
        Problem("request", text, fix, None, field)
        for text, fix in (
            _scheme_problem(scheme, host, allowed),
            _port_problem(parts.port, scheme),
            host_problem,
            _local_name_problem(host, allowed),
        )
        if text
    ]
    if problems:
        raise DataValidationError(problems)
    addresses = [literal] if literal is not None else _resolved(host, port, resolve, field)
    refused = [(a, why) for a in addresses if (why := _refusal(a, allowed)) is not None]
    if refused:
        address, why = refused[0]
        said = f"{address} is" if literal is not None else f"{host!r} resolves to {address},"
        raise DataValidationError(
            [Problem("request", f"{said} {why}, and webhooks post only to public hosts",
                     "give a host on the internet that the agency runs; an operator may allow "
                     "a host on its own network in CROSSPLAN_WEBHOOK_ALLOW", None, field)]
        )  # fmt: skip
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port, target, str(addresses[0]))


def redact(url: str) -> str:
    """``url`` as it may be shown and logged: no user information, no fragment, and every
    value of the query replaced by ``***`` (``?token=***&v=***``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(not a URL)"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    query = "&".join(
        f"{name}=***" if sep else "***"
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    shown = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    # "a=1" shows as "a=***": a long query of short values grows past the column's width.
    return shown if len(shown) <= MAX_URL_LENGTH else shown[: MAX_URL_LENGTH - 1] + "…"


def _syntax_problems(url: str, field: str) -> list[Problem]:
    """Problems found before the URL is even parsed: what a parser would silently change."""

    def problem(message: str, fix: str) -> Problem:
        return Problem("request", message, fix, None, field)

    if len(url) > MAX_URL_LENGTH:
        return [problem(f"the URL is {len(url)} characters long",
                        f"use a URL of at most {MAX_URL_LENGTH} characters")]  # fmt: skip
    problems = []
    bad = _UNSAFE_CHARACTER.search(url)
    if bad is not None:
        char = bad.group()
        what = "a control character (CR, LF, tab, ...)" if char < " " or char == "\x7f" else (
            "a space" if char == " " else f"the character {char!r}"
        )  # fmt: skip
        problems.append(problem(f"the URL holds {what} at position {bad.start() + 1}",
                                "remove it or percent-encode it (%20 for a space, %C3%B6 for "
                                "ö); write an international host name in its xn-- form"))  # fmt: skip
    if "#" in url:
        problems.append(problem("the URL has a #fragment, which is never sent to the server",
                                "remove the '#' and what follows it"))  # fmt: skip
    if problems:
        return problems
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parses the port, raising on a bad one
    except ValueError as err:
        return [problem(f"not a URL ({err})", f"give the full address, {_EXAMPLE}")]
    if not parts.netloc or not parts.hostname:
        return [problem("the URL names no host", f"give the full address, {_EXAMPLE}")]
    if "@" in parts.netloc:
        problems.append(problem(
            "the URL holds a user name or password (user:password@host), which would be "
            "stored and sent in clear",
            "remove it; to let the receiver check that posts come from crossplan, register "
            "a 'secret': each post is then signed (X-Crossplan-Signature)",
        ))  # fmt: skip
    return problems


def _scheme_problem(scheme: str, host: str, allowed: bool) -> tuple[str, str]:
    if scheme == "https" or (scheme == "http" and allowed):
        return "", ""
    if scheme == "http":
        return (f"plain http to {host}: alerts would cross the network unencrypted",
                "use https://; an operator may allow plain http to a host on its own network "
                "in CROSSPLAN_WEBHOOK_ALLOW")  # fmt: skip
    return (f"the scheme {scheme!r} is not one webhooks use",
            f"use an https:// URL, {_EXAMPLE}")  # fmt: skip


def _port_problem(port: int | None, scheme: str) -> tuple[str, str]:
    if port is None or port == _DEFAULT_PORT.get(scheme) or port >= 1024:
        return "", ""
    return (f"port {port} is a system service's port, not a web server's",
            "leave the port out (443 for https), or use a port from 1024 up")  # fmt: skip


def _host_form(host: str, bracketed: bool) -> tuple[IPAddress | None, tuple[str, str]]:
    """The address a host literally is (or ``None`` for a name), and a problem of its form."""
    if bracketed:
        if "%" in host:
            return None, ("the IPv6 address names a network interface (%zone)",
                          "give a public address or host name")  # fmt: skip
        try:
            return ipaddress.IPv6Address(host), ("", "")
        except ValueError:
            return None, ("the address in [ ] is not an IPv6 address",
                          "write an IPv6 address as [2001:db8::1], or give a host name")  # fmt: skip
    if _DOTTED_QUAD.fullmatch(host):
        return ipaddress.IPv4Address(host), ("", "")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None, (f"the host {host!r} is a number, not a name nor an address in its "
                      "usual form (resolvers read such numbers as IPv4 addresses)",
                      "write an IPv4 address as four decimal numbers without leading zeros "
                      "(e.g. 203.0.113.7), or give a host name")  # fmt: skip
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None, (f"the host {host!r} is not a valid host name",
                      "use letters, digits, hyphens and dots only; write an international "
                      "name in its ASCII (xn--) form")  # fmt: skip
    return None, ("", "")


def _local_name_problem(host: str, allowed: bool) -> tuple[str, str]:
    if allowed or not (host in _LOCAL_NAMES or host.endswith(".localhost")):
        return "", ""
    return (f"{host!r} names this machine or a cloud's metadata service",
            "give the public host name of the agency's receiver")  # fmt: skip


def _resolved(host: str, port: int, resolve: Resolver, field: str) -> list[IPAddress]:
    try:
        found = [ipaddress.ip_address(a) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError) as err:
        found, reason = [], f" ({err})"
    else:
        reason = ""
    if not found:
        raise UnresolvedHostError(
            [Problem("request", f"the host {host!r} does not resolve to an address{reason}",
                     "check the host name, and that the receiver is published in DNS",
                     None, field)]
        )  # fmt: skip
    return found


def _refusal(address: IPAddress, allowed: bool) -> str | None:
    """What kind of address ``address`` is, when a post may not go there (else ``None``)."""
    if address.is_unspecified:
        return "the unspecified address, which means this machine"
    if address.is_multicast:
        return "a multicast address"
    if address in _METADATA:
        return "the address of a cloud metadata service"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = _refusal(embedded, allowed)
        return None if inner is None else f"{inner} (the IPv4 address {embedded} in IPv6 form)"
    if allowed:
        return None
    for kind in ("loopback", "link_local", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not address.is_global:
        return "an address that is not public"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
