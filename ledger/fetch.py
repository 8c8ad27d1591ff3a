"""Fetching a source over http(s): public addresses only, bounded in time, size and hops.

Every refusal is an ``InvalidInput`` naming the URL and the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import http.cookiejar
import ipaddress
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import TracebackType

import httpx

from ledger import formats
from ledger.config import env_flag
from ledger.errors import InvalidInput
from ledger.sources import MAX_SOURCE_BYTES, SourceDocument

ALLOW_PRIVATE_SETTING = "LEDGER_FETCH_ALLOW_PRIVATE"
ALLOWED_TYPES = formats.SUPPORTED_TYPES
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ACCEPT = "text/html, application/xhtml+xml, text/markdown, text/plain;q=0.9"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def user_agent() -> str:
    try:
        version = metadata.version("claims-ledger")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"claims-ledger/{version} (+https://example.invalid/claims-ledger)"


def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``, in its preference order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def new_client() -> httpx.Client:
    """The default client: no proxies or .netrc from the environment, no cookie jar."""
    # A proxy would resolve and connect on its own, out of reach of the address check.
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(trust_env=False, follow_redirects=False, cookies=no_cookies)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified, CGNAT
    and site-local addresses, and for IPv6 forms that embed such an IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone id
    except ValueError:
        return False
    return _is_public(ip)


def _is_public(ip: IPAddress) -> bool:
    if not all(_is_public(inner) for inner in _embedded_ipv4(ip)):
        return False
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast  # Python counts 224.0.0.0/4 as global
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )
    # is_global is what rules out 100.64.0.0/10 (carrier-grade NAT), which is not "private".
    return ip.is_global and not special


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses reachable through an IPv6 one: mapped, 6to4, Teredo, NAT64."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [inner for inner in found if inner is not None]


@dataclass(kw_only=True)
class Fetcher:
    """Settings for fetching, with safe defaults, and the client that does it.

    Against DNS rebinding, the host is resolved here, every address is checked, and the
    request goes to the checked address itself (the URL's host replaced by it); the name
    travels in the ``Host`` header and as the TLS server name, so certificates are still
    verified for the name. Nothing resolves the name a second time.
    """

    allow_private: bool = False
    max_redirects: int = 5
    max_bytes: int = MAX_SOURCE_BYTES
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    user_agent: str = field(default_factory=user_agent)
    client: httpx.Client = field(default_factory=new_client, repr=False)
    resolver: Resolver = field(default=resolve, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Fetcher:
        """Settings from ``LEDGER_FETCH_*`` variables (only ``_ALLOW_PRIVATE`` so far)."""
        env = os.environ if env is None else env
        return cls(allow_private=env_flag(env, ALLOW_PRIVATE_SETTING))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def fetch(self, url: str) -> SourceDocument:
        """GET ``url``, following redirects by hand, and parse the body by its media type."""
        stop = time.monotonic() + self.deadline
        current = _checked_url(url, where=url)
        for hop in range(self.max_redirects + 1):
            try:
                with self._transport_errors(current), self._open(current, stop) as response:
                    target = _redirect_target(response, current)
                    if target is None:
                        return self._document(response, current, stop)
            except InvalidInput as exc:
                if hop == 0:
                    raise
                raise InvalidInput(f"{url}: redirected to {exc}") from exc
            current = target
        raise InvalidInput(f"{url}: too many redirects (more than {self.max_redirects})")

    @contextlib.contextmanager
    def _open(self, url: httpx.URL, stop: float) -> Iterator[httpx.Response]:
        """A streamed response from the first checked address that accepts a connection."""
        failure: httpx.ConnectError | None = None
        for address in self._addresses(url):
            request = self._request(url, address, stop)
            try:
                response = self.client.send(request, stream=True, follow_redirects=False)
            except httpx.ConnectError as exc:
                failure = exc
                continue
            try:
                yield response
            finally:
                response.close()
            return
        raise InvalidInput(f"{url}: cannot connect: {failure}")

    def _addresses(self, url: httpx.URL) -> list[str]:
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = list(self.resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise InvalidInput(f"{url}: cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise InvalidInput(f"{url}: {host} resolves to no address")
        for address in addresses:
            if not (self.allow_private or is_public_address(address)):
                named = address if address == url.host else f"{host} resolves to {address}, which"
                raise InvalidInput(
                    f"{url}: {named} is not a public address"
                    f" (set {ALLOW_PRIVATE_SETTING}=true to allow it)"
                )
        return addresses

    def _request(self, url: httpx.URL, address: str, stop: float) -> httpx.Request:
        left = self._time_left(url, stop)
        host = url.raw_host.decode("ascii")
        headers = {
            "Host": url.netloc.decode("ascii"),
            "User-Agent": self.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "identity",  # the bytes kept are then the bytes sent
            # A kept-alive connection to this address could later carry a request for
            # another name served there, under the certificate checked for this one.
            "Connection": "close",
        }
        return self.client.build_request(
            "GET",
            url.copy_with(host=address),
            headers=headers,
            timeout=httpx.Timeout(
                min(self.read_timeout, left), connect=min(self.connect_timeout, left)
            ),
            extensions={"sni_hostname": host},
        )

    def _document(self, response: httpx.Response, url: httpx.URL, stop: float) -> SourceDocument:
        if not response.is_success:
            raise InvalidInput(
                f"{url}: the server answered {response.status_code} {response.reason_phrase}"
            )
        media_type = response.headers.get("content-type", "")
        essence = media_type.split(";", 1)[0].strip().lower()
        if essence not in ALLOWED_TYPES:
            raise InvalidInput(f"{url}: content type {essence or '(none)'} is not allowed")
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            # Decoding it would store bytes the server never sent; keeping it would store
            # bytes no parser can read. Identity was asked for: anything else is refused.
            raise InvalidInput(
                f"{url}: the body is sent with Content-Encoding {encoding}; only unencoded"
                " (identity) bodies are accepted"
            )
        data = self._body(response, url, stop)
        document = formats.parse_bytes(data, media_type=media_type, where=str(url), uri=str(url))
        return dataclasses.replace(document, retrieved_at=dt.datetime.now(dt.UTC))

    def _body(self, response: httpx.Response, url: httpx.URL, stop: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise InvalidInput(
                f"{url}: Content-Length {declared} is over the {self.max_bytes}-byte limit"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():  # the bytes as received, never decoded
            size += len(chunk)
            if size > self.max_bytes:
                raise InvalidInput(f"{url}: the body is over the {self.max_bytes}-byte limit")
            chunks.append(chunk)
            self._time_left(url, stop)
        return b"".join(chunks)

    def _time_left(self, url: httpx.URL, stop: float) -> float:
        # Each wait is also capped by the read timeout, so the deadline is overrun by at
        # most one read; name resolution is the system resolver's and not bounded here.
        left = stop - time.monotonic()
        if left <= 0:
            raise InvalidInput(f"{url}: gave up at the {self.deadline:g} s deadline")
        return left

    @contextlib.contextmanager
    def _transport_errors(self, url: httpx.URL) -> Iterator[None]:
        """httpx's errors as refusals naming the URL."""
        try:
            yield
        except httpx.ConnectTimeout as exc:
            raise InvalidInput(f"{url}: connecting timed out ({self.connect_timeout:g} s)") from exc
        except httpx.ReadTimeout as exc:
            raise InvalidInput(
                f"{url}: the server sent nothing for {self.read_timeout:g} s (read timeout)"
            ) from exc
        except httpx.HTTPError as exc:
            raise InvalidInput(f"{url}: the request failed: {exc}") from exc


def _checked_url(text: str, *, where: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InvalidInput(f"{where}: not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise InvalidInput(
            f"{where}: only http and https URLs can be fetched, not {url.scheme or 'a relative'}:"
        )
    if not url.host:
        raise InvalidInput(f"{where}: the URL has no host")
    if url.userinfo:
        raise InvalidInput(f"{where}: a user name or password in the URL is not allowed")
    return url


def _redirect_target(response: httpx.Response, url: httpx.URL) -> httpx.URL | None:
    """Where a redirect points (checked like the first URL), or None if it is not one."""
    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    try:
        target = url.join(location)
    except httpx.InvalidURL as exc:
        raise InvalidInput(f"{url}: redirect to an invalid URL {location!r}") from exc
    return _checked_url(str(target), where=f"{url}: redirect to {target}")
